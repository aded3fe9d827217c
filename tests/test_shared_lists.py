"""A layer's spikes listed once per step and shared (compiler.render.shared_lists): the
rewrite of the step's lines, and compiled networks that use it giving torch's results
over several calls (the first step of a call lists afresh) and at batch > 1."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.compiler.render.shared_lists import may_write, share_spike_lists
from test_numba_renderings import _winner_take_all

PROPAGATE = ["for b in range(E_I.shape[0]):",
             "    count = list_nonzero(X_s[b, :50], XE_active)",
             "    for n_i in range(count):",
             "        i = XE_active[n_i]",
             "        E_I[b, 0] += float32(X_s[b, i])"]
UPDATE = ["for b in range(X_s.shape[0]):",
          "    for j in range(X_s.shape[1]):",
          "        X_s[b, j] = X_in[t, b, j]"]
DEPRESS = ["for b in range(1):",
           "    fired = list_nonzero(X_s[b, :50], XE_fired_3)",
           "    for n_i in range(fired):",
           "        w[XE_fired_3[n_i], 0] -= 0.1"]
RECORD = ["if t >= mon_first:",
          "    for b in range(X_s.shape[0]):",
          "        if stream:",
          "            stream_row(mon[t - mon_first, b], X_s[b])",
          "        else:",
          "            for j in range(X_s.shape[1]):",
          "                mon[t - mon_first, b, j] = X_s[b, j]"]


def test_a_list_made_after_the_update_serves_the_next_steps_propagation():
    body, scratch, unused = share_spike_lists(PROPAGATE + UPDATE + DEPRESS + RECORD)
    assert scratch == ["X_s_listed = np.empty((X_s.shape[0], 50), np.int64)",
                       "X_s_listed_count = np.empty(X_s.shape[0], np.int64)"]
    assert unused == {"XE_active", "XE_fired_3"}
    # The propagation reuses the list made one step earlier, except on a call's first
    # step and for the samples the depression's loop (one sample) did not list.
    assert body[:5] == ["for b in range(E_I.shape[0]):",
                        "    if t == start or b >= 1:",
                        "        X_s_listed_count[b] = list_nonzero(X_s[b, :50], X_s_listed[b])",
                        "    XE_active = X_s_listed[b]",
                        "    count = X_s_listed_count[b]"]
    depress = body.index("for b in range(1):")
    assert body[depress + 1:depress + 4] == ["    XE_fired_3 = X_s_listed[b]",
                                             "    fired = list_nonzero(X_s[b, :50], XE_fired_3)",
                                             "    X_s_listed_count[b] = fired"]
    assert body[-len(RECORD):] == RECORD


def test_a_list_after_a_write_is_made_afresh_and_one_before_none_is_reused():
    # update, propagate, depress: nothing writes X_s between the two listings of a step
    body, _, _ = share_spike_lists(UPDATE + PROPAGATE + DEPRESS)
    assert "    count = list_nonzero(X_s[b, :50], XE_active)" in body
    assert "    X_s_listed_count[b] = count" in body
    reuse = body.index("for b in range(1):")
    assert body[reuse + 1:reuse + 3] == ["    XE_fired_3 = X_s_listed[b]", "    fired = X_s_listed_count[b]"]
    # a write between the two listings of the step (and none across steps): only the
    # propagation reuses, from the step before
    body, _, _ = share_spike_lists(PROPAGATE + UPDATE + DEPRESS)
    assert body[1] == "    if t == start or b >= 1:"


def test_nothing_changes_without_two_listings_that_can_share():
    alone = PROPAGATE + UPDATE + RECORD
    assert share_spike_lists(alone) == (alone, [], set())
    # a write on each side of both listings
    written = PROPAGATE + UPDATE + DEPRESS + UPDATE
    assert share_spike_lists(written) == (written, [], set())
    # a listing under a condition is not a site, and counts as a possible write
    hidden = ["if t == start:", *["    " + line for line in DEPRESS]]
    assert share_spike_lists(PROPAGATE + hidden)[0] == PROPAGATE + hidden


def test_uses_that_may_write_are_counted_as_writes():
    assert may_write("        X_s[b, j] = s", "X_s")
    assert may_write("        X_s[b, j] += 1", "X_s")
    assert may_write("        X_s[b, j] |= other", "X_s") and may_write("        X_s[b, j] //= 2", "X_s")
    assert may_write("        a, X_s[b, j] = 1, 2", "X_s")
    assert not may_write("        X_s[b, j] == 1", "X_s") and not may_write("        k = v <= X_s[b, j]", "X_s")
    assert may_write("    row = X_s[b]", "X_s")                    # an alias of the row
    assert may_write("    clamp(X_s, 0)", "X_s")                   # handed to a function
    assert may_write("        g = X_s[b, order[k]]", "X_s")           # not a plain element read
    assert not may_write("        g = float32(X_s[b, i])", "X_s")
    assert not may_write("    for j in range(X_s.shape[1]):", "X_s")
    assert not may_write("            stream_row(mon[t - mon_first, b], X_s[b])", "X_s")
    assert not may_write("        mon_X_s[t, b, j] = X_s[b, j]", "X_s")
    assert not may_write("        XX_s[b, j] = 1", "X_s")


@pytest.mark.parametrize("batch", [1, 2])
def test_shared_lists_give_torchs_results_over_several_calls(batch):
    results, sources = {}, {}
    for backend in ("torch", "numba"):
        network, inputs = _winner_take_all(batch)
        program = snnc.compile(network, backend=backend)
        torch.manual_seed(0)
        recorded = []
        for call in range(2):        # state carried across calls: a call's first step
            program.run({"X": inputs["X"][40 * call:40 * (call + 1)]}, time=40)    # lists afresh
            recorded += [network.monitors["E"].get("s").clone(), network.monitors["E"].get("v").clone()]
            network.monitors["E"].reset_state_variables()
        results[backend] = (*recorded, network.connections[("X", "E")].w.clone())
        sources[backend] = program.source
    assert int(results["torch"][0].sum()) > 0 and int(results["torch"][2].sum()) > 0
    for ours, theirs in zip(results["numba"], results["torch"]):
        torch.testing.assert_close(ours, theirs)
    assert "X_s_listed = np.empty" in sources["numba"] and "E_s_listed = np.empty" in sources["numba"]
