"""Statistical models of customers (NumPy/SciPy only; they know nothing of storage or engines)."""
