"""What a plugin's routes use: validation decorators, JSON responses, errors, timestamps.

``from kernel.api import json_body, query_args, responds, error_responses, json_response,
APIError, Int64``.
"""

from quart_schema import document_response as responds

from .app import Kernel, kernel_of
from .errors import APIError, BadRequest, Conflict, NotFound
from .jsonutil import dumps, json_response
from .openapi import error_responses
from .storage.database import IntegrityError
from .timeutil import parse as parse_timestamp
from .timeutil import to_api, to_db
from .validation import Int64, json_body, query_args

__all__ = [
    "APIError",
    "BadRequest",
    "Conflict",
    "Int64",
    "IntegrityError",
    "Kernel",
    "NotFound",
    "dumps",
    "error_responses",
    "json_body",
    "json_response",
    "kernel_of",
    "parse_timestamp",
    "query_args",
    "responds",
    "to_api",
    "to_db",
]
