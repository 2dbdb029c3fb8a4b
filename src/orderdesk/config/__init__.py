"""The admin configuration document (YAML) and custom fields."""
