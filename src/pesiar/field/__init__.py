"""Advokasi and Registrasi: agents, visits, socialisation events, registration requests."""
