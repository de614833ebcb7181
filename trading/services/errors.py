"""The errors of user actions: `str()` is the sentence for the trader."""

from __future__ import annotations


class ServiceError(Exception):
    """A user action could not be done; `str()` is the sentence for the trader."""


class BadInput(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class RiskRefused(ServiceError):
    pass


class BrokerFailed(ServiceError):
    pass


class Unavailable(ServiceError):
    pass
