"""Documents of any format parsed into one model (``model``): sniffing (``formats``), parsers, ``parse``."""
