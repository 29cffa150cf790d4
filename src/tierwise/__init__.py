"""tierwise: customer classification, tiering and upgrade (客户分类、分层分级与升级)."""

__version__ = "0.1.0"
