//! Mamori DLP: finds personal data in text. Pure: no I/O.
