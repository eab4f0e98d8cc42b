"""The small made-up world the bundled models learn and the bundled suites ask about: plain facts in plain
English, written for this project (no third-party text)."""

COLORS = {"the sky": "blue", "grass": "green", "snow": "white", "a banana": "yellow", "coal": "black",
          "a tomato": "red", "an orange": "orange", "a plum": "purple", "milk": "white", "a lemon": "yellow",
          "a leaf": "green", "the sea": "blue", "a cherry": "red", "chocolate": "brown", "ash": "grey"}
SOUNDS = {"cat": "meow", "dog": "woof", "cow": "moo", "duck": "quack", "sheep": "baa", "owl": "hoot",
          "lion": "roar", "frog": "croak", "horse": "neigh", "bee": "buzz"}
ABILITIES = {"bird": "fly", "fish": "swim", "horse": "run", "frog": "jump", "snake": "slither", "mole": "dig",
             "monkey": "climb", "kangaroo": "hop", "bat": "fly", "duck": "swim"}
OPPOSITES = {"hot": "cold", "big": "small", "up": "down", "day": "night", "fast": "slow", "happy": "sad",
             "open": "closed", "light": "dark", "old": "new", "early": "late", "full": "empty", "wet": "dry"}
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "Egypt": "Cairo",
            "Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo", "Canada": "Ottawa", "Germany": "Berlin"}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jia", "Kofi", "Lena"]
PLACES = ["the park", "the market", "the river", "the school", "the garden", "the library", "the beach"]
ACTIONS = ["read a book", "ate an apple", "played a game", "drew a picture", "sang a song", "found a coin",
           "planted a tree", "fed the ducks", "wrote a letter", "built a kite"]


def facts():
    """(question, answer, statement) triples: the knowledge the suites test."""
    out = []
    for thing, color in COLORS.items():
        out.append((f"What color is {thing}?", color, f"{thing[0].upper() + thing[1:]} is {color}."))
    for animal, sound in SOUNDS.items():
        out.append((f"What does a {animal} say?", sound, f"A {animal} says {sound}."))
    for animal, verb in ABILITIES.items():
        out.append((f"What can a {animal} do?", verb, f"A {animal} can {verb}."))
    for word, opposite in OPPOSITES.items():
        out.append((f"What is the opposite of {word}?", opposite, f"The opposite of {word} is {opposite}."))
    for country, city in CAPITALS.items():
        out.append((f"What is the capital of {country}?", city, f"The capital of {country} is {city}."))
    for i, day in enumerate(DAYS):
        nxt = DAYS[(i + 1) % 7]
        out.append((f"What day comes after {day}?", nxt, f"After {day} comes {nxt}."))
    for a in range(6):
        for b in range(5):
            out.append((f"What is {NUMBERS[a]} plus {NUMBERS[b]}?", NUMBERS[a + b],
                        f"{NUMBERS[a].capitalize()} plus {NUMBERS[b]} is {NUMBERS[a + b]}."))
    return out
