"""Policy as code: the YAML model, its loader, the compiler to field plans, lint and starter policies."""
