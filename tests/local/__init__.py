"""Integration tests of the local API Gateway, driven from outside like any client."""
