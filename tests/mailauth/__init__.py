"""Tests of mail authentication: DKIM keys and signatures."""
