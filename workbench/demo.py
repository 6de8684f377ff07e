"""A seeded, deterministic demo: a catalog and search logs that behave like a small shop's.

    from workbench.demo import load_demo
    load_demo(seed=0)            # -> DemoResult(catalog_dataset_id, logs_dataset_id)
    python -m workbench demo --json

The catalog has 2,400 products in 18 categories with brands, prices and attributes (color,
material, size, capacity). The logs hold about 60,000 impressions (6,000 searches x 10 results):
queries follow a Zipf curve (head, torso, tail), some are misspelled, clicks follow relevance
times a position bias, and 15% of the products are never shown (cold start). Both files are
written as Parquet and go through `ingest_file` like any upload, so the demo exercises the same
path; the same seed gives the same bytes, so loading it twice adds nothing.
"""
from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from workbench.ingest import ingest_file

N_PRODUCTS = 2400
N_SEARCHES = 6000
RESULTS_PER_SEARCH = 10
COLD_START_SHARE = 0.15  # products never shown in the logs
TYPO_SHARE = 0.08  # searches whose query is misspelled

COLORS = ["black", "white", "red", "blue", "green", "grey", "silver", "brown", "beige", "navy"]
# category -> (nouns, materials, size or capacity values, price range)
CATEGORIES = {
    "Drills": (["cordless drill", "hammer drill", "drill driver"], ["metal", "plastic"], ["12V", "18V", "20V"], (40, 250)),
    "Saws": (["circular saw", "jigsaw", "miter saw", "hand saw"], ["steel", "carbide"], ["7 in", "10 in", "12 in"], (15, 400)),
    "Paint": (["interior paint", "exterior paint", "primer", "deck stain"], ["latex", "oil"], ["1 gal", "5 gal", "1 qt"], (10, 180)),
    "Faucets": (["kitchen faucet", "bathroom faucet", "shower head"], ["brass", "chrome", "nickel"], ["1 handle", "2 handle"], (30, 350)),
    "Lighting": (["ceiling fan", "pendant light", "led bulb", "floor lamp"], ["glass", "metal", "wood"], ["60W", "100W", "52 in"], (5, 300)),
    "Flooring": (["vinyl plank", "laminate flooring", "ceramic tile"], ["vinyl", "oak", "ceramic"], ["12 in", "24 in", "48 in"], (1, 90)),
    "Storage": (["storage bin", "shelving unit", "tool chest", "garage cabinet"], ["plastic", "steel", "wood"], ["20 gal", "48 in", "72 in"], (8, 600)),
    "Garden": (["garden hose", "lawn mower", "leaf blower", "hedge trimmer"], ["rubber", "steel"], ["50 ft", "100 ft", "21 in"], (15, 500)),
    "Grills": (["gas grill", "charcoal grill", "pellet smoker", "grill cover"], ["stainless steel", "cast iron"], ["2 burner", "4 burner"], (25, 900)),
    "Appliances": (["refrigerator", "dishwasher", "microwave", "washer"], ["stainless steel", "black"], ["1.9 cu ft", "25 cu ft", "24 in"], (90, 2500)),
    "Kitchen": (["cookware set", "knife set", "cutting board", "mixing bowl"], ["ceramic", "stainless steel", "bamboo"], ["3 piece", "10 piece"], (10, 300)),
    "Bedding": (["sheet set", "comforter", "pillow", "mattress topper"], ["cotton", "linen", "microfiber"], ["twin", "queen", "king"], (15, 250)),
    "Furniture": (["office chair", "bookcase", "coffee table", "dining chair"], ["oak", "metal", "walnut"], ["2 shelf", "5 shelf", "48 in"], (40, 800)),
    "Plumbing": (["pvc pipe", "ball valve", "water heater", "toilet"], ["pvc", "copper", "porcelain"], ["1/2 in", "3/4 in", "40 gal"], (3, 1200)),
    "Electrical": (["extension cord", "light switch", "outlet", "circuit breaker"], ["copper", "plastic"], ["15 amp", "20 amp", "25 ft"], (2, 80)),
    "Hardware": (["door hinge", "cabinet knob", "deadbolt", "wood screw"], ["brass", "zinc", "steel"], ["1 in", "3 in", "10 pack"], (2, 120)),
    "Outdoor": (["patio umbrella", "fire pit", "outdoor rug", "planter"], ["aluminum", "resin", "terracotta"], ["9 ft", "30 in", "5x7"], (20, 400)),
    "Cleaning": (["vacuum cleaner", "mop", "pressure washer", "trash can"], ["plastic", "steel"], ["13 gal", "2000 psi", "30 gal"], (8, 450)),
}
BRANDS = ["Acme", "Bolt", "Crest", "Dura", "Everpro", "Forge", "Granite", "Harbor", "Ironclad", "Juniper", "Keystone",
          "Lumen", "Maple", "Northway", "Oakridge", "Pioneer", "Quartz", "Ridgeline", "Summit", "Titan", "Union",
          "Vista", "Westfield", "Zenith"]
ADJECTIVES = ["compact", "heavy duty", "premium", "classic", "modern", "lightweight", "professional", "deluxe"]


@dataclass
class DemoResult:
    catalog_dataset_id: int
    logs_dataset_id: int
    products: int
    events: int
    already_present: bool = False  # the demo was loaded before: nothing was added

    def as_dict(self) -> dict:
        return asdict(self)


def make_catalog(rng: np.random.Generator) -> pd.DataFrame:
    """N_PRODUCTS products with title, description, category, brand, price and attributes."""
    names = list(CATEGORIES)
    rows = []
    for i in range(N_PRODUCTS):
        category = names[i % len(names)]
        nouns, materials, sizes, (low, high) = CATEGORIES[category]
        brands = [BRANDS[(names.index(category) * 5 + k) % len(BRANDS)] for k in range(6)]
        noun, material, size = rng.choice(nouns), rng.choice(materials), rng.choice(sizes)
        brand, color, adjective = rng.choice(brands), rng.choice(COLORS), rng.choice(ADJECTIVES)
        price = round(float(np.exp(rng.uniform(np.log(low), np.log(high)))), 2)
        rows.append({
            "product_id": f"P{i + 1:05d}",
            "title": f"{brand} {adjective} {material} {noun} {size} in {color}",
            "description": f"A {adjective} {noun} by {brand}, made of {material}. Size {size}, color {color}.",
            "category": category,
            "brand": brand,
            "price": price,
            "color": color,
            "material": material,
            "size": size,
            "capacity": size if any(u in size for u in ("gal", "cu ft", "qt")) else None,
        })
    return pd.DataFrame(rows)


def _queries(catalog: pd.DataFrame, rng: np.random.Generator) -> list[tuple[str, str, set[str]]]:
    """(query, category, required words): nouns are head queries, facet combinations torso and tail."""
    out, seen = [], set()
    for row in catalog.itertuples():
        noun = next(n for n in CATEGORIES[row.category][0] if n in row.title)
        for words in ([noun], [row.color, noun], [row.brand.lower(), noun], [row.material, noun],
                      [row.brand.lower(), row.color, row.material, noun]):
            query = " ".join(words)
            if query not in seen:
                seen.add(query)
                out.append((query, row.category, set(" ".join(words).split())))
    # Head first: shorter queries are more popular; order within a length is shuffled by seed.
    order = rng.permutation(len(out))
    return sorted((out[i] for i in order), key=lambda q: len(q[2]))


def _typo(query: str, rng: np.random.Generator) -> str:
    chars = list(query)
    i = int(rng.integers(1, max(2, len(chars) - 1)))
    if chars[i] == " ":  # a doubled or dropped space is no typo a reader would see
        i -= 1
    kind = rng.integers(3)
    if kind == 0:
        del chars[i]
    elif kind == 1 and i + 1 < len(chars):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        chars.insert(i, chars[i])
    return "".join(chars)


def make_logs(catalog: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """N_SEARCHES searches of RESULTS_PER_SEARCH impressions; clicks = relevance x position bias."""
    shown_ids = rng.permutation(len(catalog))[int(len(catalog) * COLD_START_SHARE):]
    shown = catalog.iloc[np.sort(shown_ids)].reset_index(drop=True)
    words = [set(t.lower().split()) for t in shown["title"]]
    by_category = {c: np.flatnonzero(shown["category"].to_numpy() == c) for c in CATEGORIES}
    queries = _queries(shown, rng)
    popularity = 1.0 / np.arange(1, len(queries) + 1) ** 1.1
    picks = rng.choice(len(queries), size=N_SEARCHES, p=popularity / popularity.sum())
    attract = np.array([0.03, 0.12, 0.35, 0.75])  # click chance at the top by relevance grade 0..3
    examine = 1.0 / np.arange(1, RESULTS_PER_SEARCH + 1) ** 0.9  # position bias
    n = N_SEARCHES * RESULTS_PER_SEARCH
    product_ids = shown["product_id"].to_numpy()
    terms, products = np.empty(n, dtype=object), np.empty(n, dtype=object)
    flags = np.zeros((3, n), dtype=int)  # clicked, added_to_cart, purchased
    relevance_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for s, q in enumerate(picks):
        query, category, required = queries[q]
        if q not in relevance_cache:
            pool = by_category[category]
            hits = np.array([len(required & words[j]) / len(required) for j in pool])
            noun_ok = np.array([all(w in words[j] for w in query.split()[-2:]) for j in pool])
            relevance_cache[q] = (pool, np.where(hits == 1, 3, np.where(noun_ok, 2, np.where(hits > 0, 1, 0))))
        pool, grade = relevance_cache[q]
        # The shop's ranker: relevance plus noise, with a random product from elsewhere now and then.
        order = np.argsort(-(grade + rng.normal(0, 1.0, len(pool))))[:RESULTS_PER_SEARCH]
        ids, grades = pool[order], grade[order]
        if len(ids) < RESULTS_PER_SEARCH or rng.random() < 0.3:
            k = RESULTS_PER_SEARCH - len(ids) + 1
            ids = np.concatenate([ids[: RESULTS_PER_SEARCH - k], rng.choice(len(shown), k)])
            grades = np.concatenate([grades[: RESULTS_PER_SEARCH - k], np.zeros(k, dtype=int)])
        clicked = rng.random(RESULTS_PER_SEARCH) < attract[grades] * examine
        carted = clicked & (rng.random(RESULTS_PER_SEARCH) < 0.15 * grades)
        bought = carted & (rng.random(RESULTS_PER_SEARCH) < 0.5)
        rows = slice(s * RESULTS_PER_SEARCH, (s + 1) * RESULTS_PER_SEARCH)
        terms[rows] = _typo(query, rng) if rng.random() < TYPO_SHARE else query
        products[rows] = product_ids[ids]
        flags[:, rows] = clicked, carted, bought
    search = np.repeat(np.arange(N_SEARCHES), RESULTS_PER_SEARCH)
    seconds = np.repeat(np.arange(N_SEARCHES) * 431 + rng.integers(0, 400, N_SEARCHES), RESULTS_PER_SEARCH)
    users = np.repeat(rng.integers(0, 1500, N_SEARCHES // 3 + 1), 3 * RESULTS_PER_SEARCH)[:n]
    return pd.DataFrame({
        "search_term": terms,
        "product_id": products,
        "position": np.tile(np.arange(1, RESULTS_PER_SEARCH + 1), N_SEARCHES),
        "clicked": flags[0],
        "added_to_cart": flags[1],
        "purchased": flags[2],
        "session_id": [f"S{i // 3:05d}" for i in search],
        "timestamp": np.datetime64("2026-01-01T00:00:00") + seconds.astype("timedelta64[s]"),
        "user_id": [f"U{u:04d}" for u in users],
    })


def load_demo(seed: int = 0, on_progress: Callable[[int, int, str], None] | None = None) -> DemoResult:
    """Generate the demo catalog and logs and ingest them like uploads (catalog first, then logs)."""
    progress = on_progress or (lambda done, total, message: None)
    rng = np.random.default_rng(seed)
    progress(0, 3, "generating the catalog")
    catalog = make_catalog(rng)
    progress(1, 3, "generating the search logs")
    logs = make_logs(catalog, rng)
    with tempfile.TemporaryDirectory(prefix="workbench-demo-") as folder:
        catalog_path, logs_path = Path(folder) / "demo_catalog.parquet", Path(folder) / "demo_logs.parquet"
        catalog.to_parquet(catalog_path, index=False)
        logs.to_parquet(logs_path, index=False)
        progress(2, 3, "ingesting")
        cat = ingest_file(catalog_path, kind="catalog", name=f"Demo catalog (seed {seed})")
        log = ingest_file(logs_path, kind="logs", name=f"Demo search logs (seed {seed})",
                          catalog_dataset_id=cat.dataset_id)
    progress(3, 3, "done")
    return DemoResult(catalog_dataset_id=cat.dataset_id, logs_dataset_id=log.dataset_id,
                      products=cat.rows_accepted, events=log.rows_accepted,
                      already_present=cat.already_present and log.already_present)
