"""The one SQLAlchemy ``MetaData`` every table of the operational store is defined on."""

import sqlalchemy as sa

metadata = sa.MetaData()
