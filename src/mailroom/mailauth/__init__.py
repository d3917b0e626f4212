"""Mail authentication: DKIM today; SPF, DMARC, ARC and Authentication-Results to come.

Pure checks and signatures over messages; DNS answers come from callers (`dns`), never
from a lookup made in here."""

from mailroom.config import DkimAlgorithm
from mailroom.mailauth.dkim import (
    DkimError,
    DkimKey,
    DkimKeyExists,
    DkimKeys,
    DkimSigner,
    dns_txt_record,
    generate_key,
    key_algorithm,
    normalize_selector,
    record_name,
    txt_character_strings,
    zone_file_line,
)

__all__ = [
    "DkimAlgorithm",
    "DkimError",
    "DkimKey",
    "DkimKeyExists",
    "DkimKeys",
    "DkimSigner",
    "dns_txt_record",
    "generate_key",
    "key_algorithm",
    "normalize_selector",
    "record_name",
    "txt_character_strings",
    "zone_file_line",
]
