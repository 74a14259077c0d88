"""service.perform: the DO step of the nine-element system (the quarter's service carried out and measured)."""
