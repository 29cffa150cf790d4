"""The command line: a thin shell over tierwise.app."""
