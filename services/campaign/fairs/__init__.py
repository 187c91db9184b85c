"""Recruitment events (招聘会, 园区专场, 送岗下乡, 夜市招聘, 网络招聘会, 直播带岗) inside campaign.

Why in campaign: a fair is part of the county's campaign, its figures sit beside the funnel's in
the reports, and campaign already knows each posting's employer and headcount (from
``postings.v1``) and has an outbox relay; a service of its own would add a process, a database
and a port for a handful of documents. It owns three collections in campaign's database:
``fairs`` (the fair and its outbox of ``fair.announced``/``fair.updated``), ``fair_invitations``
(one per seeker and fair, from match's ``fair.invited``) and ``fair_records`` (registrations,
visits, on-site intentions and hires, one per seeker, kind and posting).

Who is invited is computed by match (``services/match/fairs.py``), which indexes seekers and
postings; notify delivers the invitations under its rules (quiet hours, daily cap, consent).
"""
