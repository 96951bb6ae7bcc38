"""The Pinnacle Cart simulator's catalogue: the shared world's products that have a `cart_sku`, as the API
shows them (element names as keys, values as text), their recursive option trees and the category tree."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from simulators.world import Product, World


def build_catalogue(
    world: World, rng: random.Random
) -> tuple[dict[int, dict[str, Any]], dict[int, str], list[dict[str, Any]]]:
    """Return the shop's products by PID (API-shaped), each product's category id, and the category tree."""
    products: dict[int, dict[str, Any]] = {}
    product_category: dict[int, str] = {}
    sold: list[Product] = [p for p in world.products if p.cart_sku]
    tree: dict[str, dict[str, Any]] = {}
    next_category = 1
    for pid, product in enumerate(sold, start=1):
        top = "Pet Supplies" if product.kind == "pet" else "Music Software"
        path = [top, product.category, product.subcategory]
        level = tree
        node: dict[str, Any] = {}
        for title in path:
            if title not in level:
                level[title] = {"Title": title, "CategoryId": str(next_category), "_children": {}}
                next_category += 1
            node = level[title]
            level = node["_children"]
        product_category[pid] = node["CategoryId"]
        products[pid] = {
            "Price": f"{product.msrp:.5f}",
            "Cost": f"{product.cost:.5f}",
            "Taxable": "No" if product.kind == "music" else "Yes",
            "Weight": "0.00" if product.kind == "music" else f"{rng.uniform(0.2, 30):.2f}",
            "UPC": product.upc,
            "Title": product.cart_title,
            "URL": f"https://shop.example/index.php?p=product&id={pid}",
            "ThumbnailImageUrl": f"https://shop.example/images/products/thumbs/{pid}.jpg",
            "ImageUrl": "" if rng.random() < 0.1 else f"https://shop.example/images/products/{pid}.jpg",
            "Discontinued": "Yes" if rng.random() < 0.05 else "No",
            "Options": product_options(product, rng) if rng.random() < 0.35 else [],
            "PID": str(pid),
            "ProductId": product.cart_sku,
            "Qoh": str(rng.randrange(0, 400)),
        }

    def render(level: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"Title": n["Title"], "CategoryId": n["CategoryId"], "Children": render(n["_children"])}
            for n in level.values()
        ]

    return products, product_category, render(tree)


def product_options(product: Product, rng: random.Random) -> list[dict[str, Any]]:
    """A recursive option tree: a select with its values, sometimes a gift wrap nesting two levels."""

    def option(title: str, option_id: str, price: str, kind: str = "", children: Any = ()) -> dict[str, Any]:
        return {
            "Title": title,
            "Caption": "",
            "OptionId": option_id,
            "Type": kind,
            "Price": price,
            "Cost": price,
            "Weight": "" if kind else f"{rng.uniform(-0.5, 2):.2f}",
            "Priority": str(rng.randrange(1, 9)),
            "Options": list(children),
        }

    sizes = [("Small", "-2.00"), ("Medium", "0.00"), ("Large", "4.50")]
    if product.kind == "music":
        sizes = [("Single seat", "0.00"), ("Two seats", f"{product.msrp * Decimal('0.8'):.2f}")]
    select = option(
        "License" if product.kind == "music" else "Size",
        "1",
        "0",
        "select",
        [option(title, f"1-{title}", price) for title, price in sizes],
    )
    tree = [select]
    if rng.random() < 0.4:
        card = option(
            "Card", "2-Yes-Card", "0", "select", [option("Birthday", "2-Yes-Card-Birthday", "0.50")]
        )
        tree.append(option("Gift wrap", "2", "0", "checkbox", [option("Yes", "2-Yes", "3.99", "", [card])]))
    return tree
