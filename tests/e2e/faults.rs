//! Randomised fault run (seeded; the seed is printed on failure).
