"""Personal-data protection: encryption keys, the encrypted vault of personal fields, masking.

Personal columns (``personal=True`` in :mod:`tierwise.canonical`: name, ID number, phone,
e-mail, address, birthday, free-text notes) never reach the analytic Parquet files. At import
they are sealed row by row with AES-256-GCM (authenticated: a wrong key or an altered value
is detected, never decrypted into garbage) into a ``personal.parquet`` vault beside the batch;
the analytics only ever see pseudonymous ids and derived, non-identifying features (age).
The key comes from outside the workspace (a key file or an environment variable), so a copy
of the workspace or of its backups reveals nothing without it.
"""

from tierwise.protect.keys import Key, KeyRing, generate_key_file, load_keyring
from tierwise.protect.mask import mask_value
from tierwise.protect.vault import open_blocks, reseal, seal_table

__all__ = ["Key", "KeyRing", "generate_key_file", "load_keyring", "mask_value", "open_blocks", "reseal", "seal_table"]
