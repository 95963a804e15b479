"""Pesiar: Petakan, Sisir, Advokasi, Registrasi."""

__version__ = "0.1.0"
