"""The fault vocabulary's public import path: it lives in :mod:`mockserver.control.faults`."""

from mockserver.control.faults import FAULTS, Fault, SpecError, parse_fault, parse_faults

__all__ = ["FAULTS", "Fault", "SpecError", "parse_fault", "parse_faults"]
