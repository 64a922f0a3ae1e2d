"""Generation providers: one small adapter per backend behind one base class and a registry."""
