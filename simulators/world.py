"""One seeded retail world behind all four simulators.

A pet and music retailer with a handful of stores, its suppliers and its products. Every simulator
draws from the same `World`, so the warehouse can join across sources the way it would at a real shop:

- Stores: Pinogy `location_id` / `location_receipt_name` and PinMeTo `storeId` / `name`. Most stores
  share the id (`storeId == str(location_id)`); one PinMeTo store uses its own id but the same name
  (matched by name); one matches only through a hand-kept crosswalk (`sql/seeds/location_map.csv`).
- Suppliers: Pinogy purchase-order entities (`entity_id`, name, address).
- Products: Pinogy `product_id` (POS code) and description; Pinnacle Cart `pid`, SKU (`product_id`), UPC
  and title; Plugivery `id`, name and brand for the music catalogue. Most web-shop SKUs equal the POS
  code, some match only by UPC, some only by name (with different case and spacing), and a few products
  exist in one source only.

Everything is derived from `random.Random(seed)`, so the same seed gives the same world in every process.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Store:
    location_id: int  # Pinogy
    store_id: str  # PinMeTo
    name: str
    street: str
    city: str
    region_iso_code: str
    zipcode: str
    country: str
    lat: float
    lon: float
    phone: str
    email: str
    timezone: str
    # weekday -> (open "HH:MM", close "HH:MM"), or None when closed that day
    hours: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    permanently_closed: bool = False


@dataclass(frozen=True)
class Supplier:
    entity_id: int
    name: str
    address_line1: str
    address_line2: str | None
    city: str
    region_iso_code: str
    region_full_name: str
    zipcode: str
    email: str
    phone_number: str


@dataclass(frozen=True)
class Product:
    product_id: int  # Pinogy POS code
    name: str
    brand: str
    category: str
    subcategory: str
    kind: str  # "pet" or "music"
    upc: str
    cost: Decimal
    msrp: Decimal
    supplier_entity_id: int
    cart_sku: str | None  # Pinnacle Cart product_id (SKU); None when not sold online
    cart_title: str | None
    plugivery_id: int | None  # music catalogue id; None for pet products


@dataclass(frozen=True)
class World:
    seed: int
    stores: tuple[Store, ...]
    suppliers: tuple[Supplier, ...]
    products: tuple[Product, ...]

    def store_by_location(self, location_id: int) -> Store:
        return next(s for s in self.stores if s.location_id == location_id)


_STORES = [
    # location_id, store_id, name, street, city, region, zip, lat, lon
    (4, "4", "Pinogy Store", "125 Main Street", "Easton", "PA", "18042", 40.6884, -75.2207),
    (5, "5", "Bethlehem Pets & Music", "44 W Broad Street", "Bethlehem", "PA", "18018", 40.6220, -75.3833),
    (7, "7", "Allentown Pet Depot", "910 Hamilton Street", "Allentown", "PA", "18101", 40.6023, -75.4714),
    (8, "LV-108", "Nazareth Music Barn", "17 Center Square", "Nazareth", "PA", "18064", 40.7401, -75.3096),
    (
        9,
        "9",
        "Phillipsburg Pet Outlet",
        "300 S Main Street",
        "Phillipsburg",
        "NJ",
        "08865",
        40.6937,
        -75.1902,
    ),
    (11, "PMT-0011", "Stroudsburg Store", "600 Main Street", "Stroudsburg", "PA", "18360", 40.9868, -75.1946),
]

_SUPPLIERS = [
    (
        "Phillips - Easton PA",
        "3747 Hecktown Road",
        "Corporate Office",
        "Easton",
        "PA",
        "Pennsylvania",
        "18045",
    ),
    ("Animal Supply Co", "1 Commerce Drive", None, "Grand Prairie", "TX", "Texas", "75050"),
    ("Central Garden & Pet", "1340 Treat Blvd", "Suite 600", "Walnut Creek", "CA", "California", "94597"),
    ("Bigbarn Music Distribution", "88 Orchard Lane", None, "Lancaster", "PA", "Pennsylvania", "17601"),
    ("Plugivery Distribution", "5 Rue du Lac", None, "Geneva", "NY", "New York", "14456"),
    ("Pet Food Experts", "175 Main Street", None, "Pawtucket", "RI", "Rhode Island", "02860"),
    ("Chewy Wholesale", "7700 W Sunrise Blvd", None, "Plantation", "FL", "Florida", "33322"),
    ("Aquarium Source", "12 Harbor Road", None, "Baltimore", "MD", "Maryland", "21230"),
]

_PET_LINES = [
    (
        "Dog Food",
        ["Canidae", "Blue Buffalo", "Orijen", "Acana"],
        ["Gf Pure Real Salmon", "Life Protection Chicken", "Original Puppy", "Wild Prairie", "Senior Recipe"],
        ["4-lb", "12-lb", "24-lb"],
    ),
    (
        "Cat Food",
        ["Almo Nature", "Weruva", "Tiki Cat"],
        ["Complete Can Salmon", "Paw Lickin Chicken", "Tuna & Papaya", "Grain Free Turkey"],
        ["2.5-oz", "5.5-oz", "12-pack"],
    ),
    (
        "Dog Treats",
        ["Bark Less", "Zukes", "Greenies"],
        ["Oven Baked Pb & Apples", "Mini Naturals", "Dental Chews", "Training Bites"],
        ["6-oz", "14-oz"],
    ),
    (
        "Dog Supplies",
        ["Kong", "Chuckit", "Outward Hound"],
        ["Classic Dog Toy", "Ball Launcher", "Puzzle Feeder", "Rope Tug"],
        ["Small", "Medium", "Large"],
    ),
    (
        "Aquatics",
        ["Tetra", "Fluval", "API"],
        ["Tropical Flakes", "Water Conditioner", "Filter Cartridge"],
        ["1-oz", "8-oz", "3-pack"],
    ),
]
_MUSIC_BRANDS = ["Arturia", "Native Instruments", "Soundtoys", "FabFilter", "iZotope", "Waves", "Spitfire"]
_MUSIC_ITEMS = [
    "Pigments",
    "Analog Lab",
    "Decapitator",
    "Pro-Q",
    "Ozone",
    "Neutron",
    "Kontakt",
    "Massive",
    "EchoBoy",
    "Saturn",
    "CLA Vocals",
    "BBC Orchestra",
    "V Collection",
    "Crystallizer",
]
_MUSIC_CATS = [("Plugins", "Effects"), ("Plugins", "Instruments"), ("Plugins", "Mastering")]


def _hours(rng: random.Random) -> dict[str, tuple[str, str] | None]:
    hours: dict[str, tuple[str, str] | None] = {}
    for day in WEEKDAYS:
        if day == "Sunday" and rng.random() < 0.5:
            hours[day] = None
        elif day in ("Saturday", "Sunday"):
            hours[day] = ("10:00", "17:00")
        else:
            hours[day] = (rng.choice(["08:00", "09:00", "10:00"]), rng.choice(["18:00", "20:00", "21:00"]))
    return hours


def _upc(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(11)]
    check = (10 - (sum(digits[0::2]) * 3 + sum(digits[1::2])) % 10) % 10
    return "".join(map(str, digits)) + str(check)


@lru_cache(maxsize=8)
def build_world(seed: int = 42, n_products: int = 600) -> World:
    """Return the retail world for `seed`: stores, suppliers and `n_products` products."""
    rng = random.Random(seed)
    stores = tuple(
        Store(
            location_id=loc,
            store_id=sid,
            name=name,
            street=street,
            city=city,
            region_iso_code=region,
            zipcode=zipc,
            country="US",
            lat=lat,
            lon=lon,
            phone=f"610-555-{1000 + loc:04d}",
            email=f"store{loc}@petsandmusic.example",
            timezone="US/Eastern",
            hours=_hours(rng),
            permanently_closed=(loc == 9),
        )
        for loc, sid, name, street, city, region, zipc, lat, lon in _STORES
    )
    suppliers = tuple(
        Supplier(
            entity_id=150 + 10 * i,
            name=name,
            address_line1=a1,
            address_line2=a2,
            city=city,
            region_iso_code=iso,
            region_full_name=full,
            zipcode=zipc,
            email="orders@" + "".join(ch for ch in name.lower() if ch.isalnum())[:16] + ".example",
            phone_number=f"800-555-{2000 + i:04d}",
        )
        for i, (name, a1, a2, city, iso, full, zipc) in enumerate(_SUPPLIERS)
    )
    pet_suppliers = [s for s in suppliers if "Music" not in s.name and "Plugivery" not in s.name]
    music_suppliers = [s for s in suppliers if "Music" in s.name or "Plugivery" in s.name]

    products: list[Product] = []
    seen_names: set[str] = set()
    next_plugivery_id = 1100
    while len(products) < n_products:
        pid = 10000 + len(products) * 7 + rng.randrange(7)
        if rng.random() < 0.75:
            category, brands, items, sizes = rng.choice(_PET_LINES)
            brand = rng.choice(brands)
            name = f"{brand} {rng.choice(items)} {rng.choice(sizes)}"
            subcategory, kind, supplier = brand, "pet", rng.choice(pet_suppliers)
            cost = Decimal(rng.randrange(150, 6000)) / 100
            plugivery_id = None
        else:
            brand = rng.choice(_MUSIC_BRANDS)
            category, subcategory = rng.choice(_MUSIC_CATS)
            name = f"{brand} {rng.choice(_MUSIC_ITEMS)} {rng.choice(['', 'V2 ', 'V3 ', 'Pro '])}".strip()
            kind, supplier = "music", rng.choice(music_suppliers)
            cost = Decimal(rng.randrange(2000, 40000)) / 100
            plugivery_id = next_plugivery_id
            next_plugivery_id += rng.randrange(1, 4)
        if name in seen_names:  # the name pools are small: tell repeats apart like a catalogue would
            name = f"{name} #{len(products)}"
        seen_names.add(name)
        msrp = (cost * Decimal("1.65")).quantize(Decimal("0.01"))
        roll = rng.random()
        if roll < 0.55:  # web-shop SKU is the POS code
            cart_sku, cart_title = str(pid), name
        elif roll < 0.75:  # own SKU, same UPC
            cart_sku, cart_title = f"WEB-{pid}", name
        elif roll < 0.85:  # own SKU, only the name matches (differently spelled)
            cart_sku, cart_title = f"W{rng.randrange(10**6):06d}", "  " + name.upper().replace(" ", "  ")
        else:  # not sold online
            cart_sku, cart_title = None, None
        products.append(
            Product(
                product_id=pid,
                name=name,
                brand=brand,
                category=category,
                subcategory=subcategory,
                kind=kind,
                upc=_upc(rng),
                cost=cost,
                msrp=msrp,
                supplier_entity_id=supplier.entity_id,
                cart_sku=cart_sku,
                cart_title=cart_title,
                plugivery_id=plugivery_id,
            )
        )
    return World(seed=seed, stores=stores, suppliers=suppliers, products=tuple(products))
