"""service.control: the CHECK step of the nine-element system (standards, survey, inspections)."""
