"""Plan the buses of a 就业直通车: who is picked up where, by which bus, in which order.

The seeds bus people from towns to factories (6,913 transported to 立讯, 661 from 资中 to 台州),
grouped by origin and destination. That is a capacitated vehicle-routing problem: every origin's
riders must be carried, no bus above its seats, as few buses and kilometres as possible. OR-Tools'
routing solver is the well-kept tool for it. Each bus starts at its first pickup (a free
start: its depot is a dummy node at distance 0 from everywhere), picks up in order and ends at
the workplace; an origin with more riders than a bus has seats is split into busloads first.
Distances are great-circle kilometres between county seats (``shared.places``), so the plan is
a grouping and an order, not a road itinerary.

Deterministic: the first solution (cheapest arc) improved by plain local search, no
metaheuristic, so the same input gives the same plan on every machine (a time limit guards).
Then each bus's stops are put in their shortest order by trying every order (up to
``EXACT_ORDER_STOPS`` stops): a dispatcher never sees a bus double back that need not.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from shared import places

BUS_COST_KM = 200  # one more bus costs as much as this many kilometres: fewer, fuller buses first


class UnknownPlace(ValueError):
    def __init__(self, adcode: str) -> None:
        super().__init__(f"unknown adcode {adcode}")
        self.adcode = adcode


class TooLarge(ValueError):
    """More busloads than one request may plan (the solver's work grows with their square)."""


MAX_LOADS = 200
# A bus's stops are put in their shortest order by trying every order, up to this many stops
# (5,040 orders): the solver's local search leaves a short route, this makes it the shortest.
EXACT_ORDER_STOPS = 7


class NoPlan(RuntimeError):
    """The solver found no plan within the buses allowed."""


@dataclass(frozen=True, slots=True)
class Origin:
    adcode: str
    riders: int


@dataclass(frozen=True, slots=True)
class Stop:
    adcode: str
    place: str
    riders: int


@dataclass(frozen=True, slots=True)
class Bus:
    stops: list[Stop]
    riders: int
    km: float  # from the first pickup to the workplace


@dataclass(frozen=True, slots=True)
class Plan:
    destination: str
    seats: int
    buses: list[Bus]

    @property
    def riders(self) -> int:
        return sum(b.riders for b in self.buses)

    @property
    def km(self) -> float:
        return round(sum(b.km for b in self.buses), 1)


def _place(adcode: str) -> places.Place:
    place = places.resolve(adcode)
    if place is None:
        raise UnknownPlace(adcode)
    return place


def _loads(origins: Sequence[Origin], seats: int) -> list[tuple[str, int]]:
    """Each origin as busloads of at most ``seats`` riders (merged per county first)."""
    riders: dict[str, int] = {}
    for o in origins:
        county = _place(o.adcode).adcode
        riders[county] = riders.get(county, 0) + o.riders
    out: list[tuple[str, int]] = []
    for county in sorted(riders):
        left = riders[county]
        while left > 0:
            out.append((county, min(seats, left)))
            left -= seats
    return out


def plan(
    destination: str,
    origins: Sequence[Origin],
    seats: int,
    *,
    max_buses: int | None = None,
    time_limit_s: int = 2,
) -> Plan:
    """The buses to carry every origin's riders to ``destination``, fewest and shortest first."""
    if seats <= 0:
        raise ValueError("seats must be positive")
    dest = _place(destination)
    loads = _loads(origins, seats)
    if len(loads) > MAX_LOADS:
        raise TooLarge(f"{len(loads)} busloads: at most {MAX_LOADS} per plan (more seats, or split it)")
    if not loads:
        return Plan(destination=dest.adcode, seats=seats, buses=[])
    # nodes: 0 the free start, 1 the workplace, 2.. the busloads
    where = [dest, dest, *(_place(c) for c, _ in loads)]
    demand = [0, 0, *(n for _, n in loads)]
    n_nodes = len(where)
    fleet = max_buses or len(loads)
    if fleet * seats < sum(demand):
        raise NoPlan(f"{fleet} buses of {seats} seats cannot carry {sum(demand)} riders")

    def km(i: int, j: int) -> float:
        if i == 0 or j == 0 or i == j:
            return 0.0
        a, b = where[i], where[j]
        return 0.0 if a.adcode == b.adcode else places.distance_km(a, b)

    metres = [[round(km(i, j) * 1000) for j in range(n_nodes)] for i in range(n_nodes)]
    manager = pywrapcp.RoutingIndexManager(n_nodes, fleet, [0] * fleet, [1] * fleet)
    routing = pywrapcp.RoutingModel(manager)

    def distance(from_index: int, to_index: int) -> int:
        return metres[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    def load(from_index: int) -> int:
        return demand[manager.IndexToNode(from_index)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    routing.SetFixedCostOfAllVehicles(BUS_COST_KM * 1000)
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(load), 0, [seats] * fleet, True, "seats"
    )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.time_limit.seconds = time_limit_s
    solution = routing.SolveWithParameters(params)
    if solution is None:
        raise NoPlan("no plan found")

    buses: list[Bus] = []
    for v in range(fleet):
        index = routing.Start(v)
        path: list[int] = []
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node >= 2:
                path.append(node)
            index = solution.Value(routing.NextVar(index))
        if not path:
            continue
        path = shortest_order(path, km)
        stops: list[Stop] = []
        for node in path:  # consecutive busloads of one county are one stop
            county, riders = loads[node - 2]
            if stops and stops[-1].adcode == county:
                stops[-1] = Stop(county, stops[-1].place, stops[-1].riders + riders)
            else:
                stops.append(Stop(county, places.label(county), riders))
        legs = sum(km(a, b) for a, b in zip([*path, 1], [*path, 1][1:], strict=False))
        buses.append(Bus(stops=stops, riders=sum(s.riders for s in stops), km=round(legs, 1)))
    buses.sort(key=lambda b: (b.stops[0].adcode, -b.riders, b.km))
    return Plan(destination=dest.adcode, seats=seats, buses=buses)


def route_km(path: Sequence[int], km: Callable[[int, int], float], end: int = 1) -> float:
    legs = [*path, end]
    return sum(km(a, b) for a, b in itertools.pairwise(legs))


def shortest_order(path: list[int], km: Callable[[int, int], float], end: int = 1) -> list[int]:
    """The order of ``path``'s stops with the fewest kilometres to ``end`` (first such order
    on a tie, so the plan stays deterministic); as given when there are too many stops to try."""
    if len(path) < 2 or len(path) > EXACT_ORDER_STOPS:
        return path
    best = min(itertools.permutations(path), key=lambda order: (round(route_km(order, km, end), 6), order))
    return list(best)


def lower_bound_buses(riders: int, seats: int) -> int:
    return math.ceil(riders / seats) if riders else 0
