"""esimdesk: sell, install, monitor and renew travel eSIM plans."""

__version__ = "0.1.0"
