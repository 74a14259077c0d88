"""Tests of pdcaflow.engine.review and `pdca audit`: a trail written through the store API, no Prefect."""
