"""Task definitions. Importing this package registers the built-in tasks (lazily, by name)."""
