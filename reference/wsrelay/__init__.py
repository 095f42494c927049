"""wsrelay."""
