"""`kdoctor why`: explain a failing pod (or a log) from known emulation and pull failure signatures."""
