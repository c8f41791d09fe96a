"""Reference data and pure domain logic: the consulate directory, places, services, opening hours, phone
numbers, text folding. Imports nothing else of Lifeline, so the engine, the store and the console may use it."""
