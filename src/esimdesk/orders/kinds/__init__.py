"""Order line kinds: the table the order core consults for everything a line type means.
``base.LineKind`` is the contract, ``registry`` the table; the personal kinds live here and
are registered by ``orders.apps``; feature apps register theirs in their own ``ready``."""
