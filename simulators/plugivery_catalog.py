"""The Plugivery simulator's catalogue: the shared world's music products, their brands and categories,
`n_extra_products` the retailer does not stock, and a few promotions in every state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulators.world import World

DAY = 86400


def catalog_brands(world: World) -> dict[str, dict[str, Any]]:
    """Return the music brands by name, as `list_brands` shows them."""
    names = sorted({p.brand for p in world.products if p.kind == "music"})
    return {
        b: {
            "id": 10 + i,
            "name": b,
            "url": f"https://www.plugivery.com/brands/{b.lower().replace(' ', '-')}",
            "img": f"https://cdn.plugivery.example/brands/{10 + i}.png",
        }
        for i, b in enumerate(names)
    }


def catalog_categories(world: World) -> dict[str, dict[str, Any]]:
    """Return the music categories by name, as `list_cats` shows them."""
    names = sorted({p.subcategory for p in world.products if p.kind == "music"})
    return {c: {"id": 100 + i, "name": c} for i, c in enumerate(names)}


def catalog_products(
    world: World,
    now: float,
    brands: dict[str, dict[str, Any]],
    categories: dict[str, dict[str, Any]],
    n_extra: int,
) -> dict[int, dict[str, Any]]:
    """Return every product by id, as `get` shows it: the world's music products, then `n_extra` more."""
    products: dict[int, dict[str, Any]] = {}
    for i, p in enumerate(p for p in world.products if p.plugivery_id is not None):
        assert p.plugivery_id is not None
        # MAP sits a little under MSRP; for every fifth product it is above MSRP, the web shop's price,
        # so the warehouse has MAP violations to find.
        map_price = (p.msrp * (Decimal("1.02") if i % 5 == 0 else Decimal("0.9"))).quantize(Decimal("0.01"))
        products[p.plugivery_id] = _product(
            p.plugivery_id,
            int(now - (i % 90) * DAY - 3600),
            (float(p.msrp), float(map_price), float(p.cost)),
            p.name,
            f"{p.name} by {p.brand}.",
            f"https://cdn.plugivery.example/products/{p.plugivery_id}.jpg",
            brands[p.brand],
            categories[p.subcategory],
        )
    # The rest of the catalogue: products the retailer does not stock, so the catalogue can be far
    # larger than a night's read budget. Changed within the last hour, they queue behind the world's.
    brand_list, category_list = list(brands.values()), list(categories.values())
    for j in range(n_extra):
        pid, brand = 20000 + j, brand_list[j % len(brand_list)]
        price = 19.0 + (j * 37) % 480
        products[pid] = _product(
            pid,
            int(now - 3000 + j % 2400),
            (price, round(price * 0.9, 2), round(price * 0.55, 2)),
            f"{brand['name']} Catalogue Item {j:05d}",
            "Not stocked.",
            f"https://cdn.plugivery.example/{pid}.jpg",
            brand,
            category_list[j % len(category_list)],
        )
    return products


def _product(
    pid: int,
    date: int,
    prices: tuple[float, float, float],
    name: str,
    desc: str,
    img: str,
    brand: dict[str, Any],
    category: dict[str, Any],
) -> dict[str, Any]:
    msrp, map_price, cost = prices
    return {
        "id": pid,
        "date": date,
        "msrp": msrp,
        "map": map_price,
        "cost": cost,
        "reg_map": map_price,
        "reg_cost": cost,
        "name": name,
        "desc": desc,
        "url": f"https://www.plugivery.com/products/p{pid}/",
        "img": img,
        "brand_id": brand["id"],
        "brand_name": brand["name"],
        "cat_id": category["id"],
        "cat_name": category["name"],
    }


def catalog_promotions(products: dict[int, dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Return six promotions on the first products: running, upcoming, ended and in between."""
    first = sorted(products)[:6]
    return [
        {
            "id": 900 + n,
            "state": state,
            "start": int(now + offset * DAY),
            "end": int(now + (offset + 14) * DAY),
            "prod_id": pid,
            "msrp": products[pid]["msrp"],
            "promo_map": round(products[pid]["map"] * 0.8, 2),
            "promo_cost": round(products[pid]["cost"] * 0.85, 2),
            "reg_map": products[pid]["reg_map"],
            "reg_cost": products[pid]["reg_cost"],
        }
        for n, (pid, state, offset) in enumerate(
            zip(first, (0, 1, 1, 2, 3, 3), (7, -3, -1, -15, -40, -60), strict=True)
        )
    ]
