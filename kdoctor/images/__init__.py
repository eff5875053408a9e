"""`kdoctor images`: image platforms from registries, and which amd64 Go entrypoints will crash."""
