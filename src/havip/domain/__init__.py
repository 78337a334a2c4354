"""The pure domain core: resources, rules, quotas, the status machine and errors.

Nothing in this package performs I/O or imports anything outside the standard library.
Every rule of the product lives here and nowhere else.
"""
