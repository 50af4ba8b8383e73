//! An SMTP sink (coming next).
