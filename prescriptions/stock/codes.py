"""The 409 codes of the stock (API.md "Stock" fixes the first two)."""

from enum import StrEnum


class StockConflict(StrEnum):
    # The lot holds fewer syringes than asked (dispensing, write-off, shipping a transfer).
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    # The pharmacy holds no such lot.
    LOT_NOT_IN_STOCK = "LOT_NOT_IN_STOCK"
    # A stock operation at a pharmacy that does not keep its stock in the registry.
    STOCK_NOT_KEPT = "STOCK_NOT_KEPT"
    # More syringes returned than the course was given and did not use.
    RETURN_OVER_UNUSED = "RETURN_OVER_UNUSED"
    # A transfer step out of order (ship before approval, receive before shipping, …).
    WRONG_STATUS = "WRONG_STATUS"
