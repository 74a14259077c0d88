"""The water brand's sample world: a simulation for ``pdca demo`` and the tests (docs/water-world.md)."""
