"""No API key or session token in any output, exception, log, journal, export or report."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from conftest import CHAOS_FIGURES
from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import process_pages, tag_people, upsert_people
from enstoolkit.encharge import Listener
from enstoolkit.errors import EnstoolkitError, ServerError
from enstoolkit.notebooks import NOTEBOOK_DIR, execute
from enstoolkit.sandbox import Faults, Sandbox
from enstoolkit.widgets import Toolkit


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_secrets_never_leak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    monkeypatch.setenv("ENSTOOLKIT_DATA_DIR", str(data))
    texts: list[str] = []
    wrong = "wrong-key-7f3a9c21-5d4e"
    with Sandbox(supporters=1500, faults=Faults(error_rate=0.05, drop_after_rate=0.01, seed=9)) as sb:
        for name, value in sb.environment().items():
            monkeypatch.setenv(name, value)  # credentials in the environment, as on a real machine

        # 1. every notebook, executed with outputs saved
        for source in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
            work = tmp_path / "notebooks" / source.name
            work.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, work)
            execute(work, cwd=work.parent, parameters={"OUT_DIR": str(tmp_path / "exports")})

        # 2. the headless audit
        done = subprocess.run([sys.executable, "-m", "enstoolkit.cli", "audit", "--out", str(tmp_path / "report")],
                              capture_output=True, text=True, timeout=600, env=dict(os.environ))
        assert done.returncode == 0, done.stdout + done.stderr
        texts += [done.stdout, done.stderr]

        # 3. a panel session
        ens, enc = ENSClient(), EnchargeClient()
        kit = Toolkit(ens, enc)
        kit.search.mode.value = "latest modified"
        kit.search.days_back.value = 32
        kit.search.search.click()
        kit.search.table.select_rows([0, 1, 2])
        kit.search.export.folder.value = str(tmp_path / "exports")
        kit.search.export.scope.value = "selection"
        kit.search.export.button.click()
        kit.tag.new_tags.value = "secret-scan"
        kit.tag.preview_button.click()
        kit.tag.confirm.click()
        kit.process.page.value = 100
        kit.process.inputs["Email Address"].value = "scan@example.org"
        kit.process.preview_button.click()
        kit.process.confirm.click()
        for panel in (kit.search, kit.tag, kit.process):
            texts += [panel.status, panel.status_html.value, str(panel.table.grid.get_state("_dt_args"))]
        texts += [kit.tag.summary.value, kit.process.summary.value, repr(ens), repr(enc)]

        # 4. bulk runs (journal), webhooks, erasures
        emails = kit.search.results.get_column("email").head(20).to_list()
        with Listener(encharge=enc) as hooks:
            listener_secret = hooks.path.rsplit("/", 1)[1]
            for _ in range(5):  # creating a subscription is not repeated automatically: a 503 is the user's to retry
                try:
                    enc.create_subscription("added-tag-scan", hooks.url)
                    break
                except ServerError:
                    continue
            tag_people(enc, [e.strip().lower() for e in emails if "@" in e and "." in e.split("@")[-1]], "scan")
            upsert_people(enc, [{"email": "scan.person@example.org"}])
            hooks.wait_for(1)
            texts += [repr(hooks), str(hooks.events().rows())]
        process_pages(ens, 110, [{"Email Address": f"scan{n}@example.org"} for n in range(20)])
        enc.delete_people(emails=["scan.person@example.org"], force=True)

        # 5. failing calls
        failing = [
            lambda: ENSClient(wrong, sb.ens_url).get_fields(),
            lambda: EnchargeClient(wrong, sb.encharge_url).get_tags(),
            lambda: ens.process_page(130, {"Email Address": "x@example.org"},
                                     transaction={"donationAmt": 5, "ccnumber": "4000000000000002"}),
            lambda: ens.get_page(999999),
            lambda: ENSClient(sb.ens_api_key, "http://127.0.0.1:9/ens/service").get_fields(),
            # a listener behind a proxy: the answer quotes the URL back, secret and all
            lambda: enc.create_subscription("unsubscribedUser", "https://hooks.example.org" + hooks.path),
        ]
        for call in failing:
            with pytest.raises(EnstoolkitError) as info:
                call()
            texts += [str(info.value), repr(info.value), str(getattr(info.value, "body", ""))]
        ens.close()
        secrets = [sb.ens_api_key, sb.encharge_api_key, wrong, listener_secret, *sb.ens.issued_tokens]

    texts.append(caplog.text)
    # the listener's secret is stored beside its events file on purpose (mode 0600): every other file is scanned
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".secret"]
    hits = []
    for secret in secrets:
        needle = secret.encode()
        hits += [f"{p.relative_to(tmp_path)} contains {secret[:6]}..." for p in files if needle in p.read_bytes()]
        hits += [f"text {i} contains {secret[:6]}...: {t[max(0, t.find(secret) - 80):t.find(secret)]!r}"
                 for i, t in enumerate(texts) if secret in t]
    kinds = pl.Series([p.suffix or p.name for p in files]).value_counts().sort("count", descending=True)
    line = (f"secrets scan: {len(secrets)} secrets ({len(secrets) - 4} session tokens, 3 keys, a webhook URL "
            f"secret) searched in {len(files)} files "
            f"({', '.join(f'{k} {n}' for k, n in kinds.iter_rows())}), {len(texts)} texts and the logs: "
            f"{len(hits)} hits")
    CHAOS_FIGURES.append(line)
    print(line)
    assert len(secrets) > 5 and len(files) > 20
    assert hits == []
