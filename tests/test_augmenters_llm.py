"""LLM paraphrases and pseudo-queries against a real OpenAI-compatible HTTP server on 127.0.0.1
(http.server in a thread), and against a tiny local causal LM built in the test."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from workbench.augment import AugmentContext, Sample, SampleRandom, get
from workbench.augment.llm import parse_lines
from workbench.augment.llm_client import EndpointFailed
from workbench.errors import BadInput, MissingData

SAMPLES = [Sample(1, "cordless drill 20V", "P1", "Acme drill", 1.0), Sample(2, "无线蓝牙耳机", "P2", "耳机", 1.0),
           Sample(3, "cordless drill 20V", "P3", "Bolt saw", 0.0)]


class FakeLLM:
    """Answers chat completions in the OpenAI format; fails the first `failures` requests with `status`."""

    def __init__(self, failures=0, status=503):
        self.failures, self.status, self.requests = failures, status, []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if owner.failures > 0:
                    owner.failures -= 1
                    self.send_response(owner.status)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(b'{"error": "busy"}')
                    return
                prompt = body["messages"][0]["content"]
                title = re.search(r"Title: (.*)", prompt)
                subject = title.group(1) if title else prompt.rsplit(":", 1)[-1].strip()
                content = f"1. {subject} cheap\n- \"best {subject}\"\n{subject}\n\n2) {subject} sale"
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.settings = {"llm_url": f"http://127.0.0.1:{self.server.server_port}/v1", "llm_model": "tiny-chat", "llm_api_key": "sk-test"}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_llm():
    servers = []
    yield lambda **kw: servers.append(FakeLLM(**kw)) or servers[-1]
    for server in servers:
        server.close()


def paraphrase(settings, **params):
    cls = get("llm_paraphrase")
    return cls(cls.Params(backoff_s=0.01, max_requests_per_s=0, **params), AugmentContext(settings=settings)).augment(
        SAMPLES, SampleRandom(7, "llm_paraphrase"))


def test_paraphrases_come_from_the_endpoint_one_request_per_distinct_query(fake_llm):
    server = fake_llm()
    candidates = paraphrase(server.settings)
    assert [(c.sample_id, c.query) for c in candidates] == [
        (1, "cordless drill 20V cheap"), (1, "best cordless drill 20V"), (2, "无线蓝牙耳机 cheap"), (2, "best 无线蓝牙耳机"),
        (3, "cordless drill 20V cheap"), (3, "best cordless drill 20V"),
    ]
    assert len(server.requests) == 2 and {r["path"] for r in server.requests} == {"/v1/chat/completions"}
    request = server.requests[0]
    assert (request["model"], request["auth"], request["max_tokens"], request["temperature"]) == ("tiny-chat", "Bearer sk-test", 128, 0.7)
    assert isinstance(request["seed"], int)
    assert all("api_key" not in c.params and "sk-test" not in json.dumps(c.params) for c in candidates)
    assert all((c.augmenter, c.seed, c.field) == ("llm_paraphrase", 7, "query") for c in candidates)


def test_the_prompt_is_an_editable_parameter(fake_llm):
    server = fake_llm()
    paraphrase(server.settings, prompt="Rewrite {n} times: {query}", per_sample=1)
    assert sorted(r["messages"][0]["content"] for r in server.requests) == ["Rewrite 1 times: cordless drill 20V", "Rewrite 1 times: 无线蓝牙耳机"]


def test_a_failing_endpoint_is_retried_until_it_answers(fake_llm):
    server = fake_llm(failures=2, status=503)
    candidates = paraphrase(server.settings, concurrency=1)
    assert len(server.requests) == 4 and len(candidates) == 6


def test_rate_limited_requests_are_retried(fake_llm):
    server = fake_llm(failures=1, status=429)
    assert len(paraphrase(server.settings, concurrency=1)) == 6


def test_an_endpoint_that_keeps_failing_says_so(fake_llm):
    server = fake_llm(failures=100, status=500)
    with pytest.raises(EndpointFailed, match=re.escape(f"LLM endpoint {server.settings['llm_url']} failed 3 times (HTTP 500); is the server running?")):
        paraphrase(server.settings, max_retries=2, concurrency=1)


def test_a_rejected_key_is_not_retried(fake_llm):
    server = fake_llm(failures=100, status=401)
    with pytest.raises(BadInput, match=re.escape("answered HTTP 401 for model 'tiny-chat'") + ".*check llm_url, llm_model and llm_api_key"):
        paraphrase(server.settings, concurrency=1)
    assert len(server.requests) == 2  # one per distinct query, no retries


def test_missing_endpoint_settings_say_what_to_set():
    with pytest.raises(MissingData, match=re.escape("llm_paraphrase needs a language model: set the LLM endpoint URL and model in Settings")):
        paraphrase({})


def test_an_unreachable_endpoint_fails_after_retries():
    with pytest.raises(EndpointFailed, match="failed 2 times \\(ConnectionError"):
        paraphrase({"llm": {"url": "http://127.0.0.1:9/v1", "model": "m"}}, max_retries=1, timeout_s=2)


def test_pseudo_queries_from_the_llm_for_never_searched_products(fake_llm):
    server = fake_llm()
    products = pd.DataFrame({"product_id": ["P1", "P2", "P3", "P9"], "title": ["Acme drill", "无线耳机", "Bolt saw", "Vista lamp"],
                             "brand": ["Acme", "华为", "Bolt", "Vista"], "category": ["Tools", "耳机", "Tools", "Lighting"],
                             "attributes": ['{"color": "red"}', None, None, None]})
    samples = pd.DataFrame({"sample_id": [1, 2, 3], "query": [s.query for s in SAMPLES], "product_id": ["P1", "P2", "P3"],
                            "product_text": ["Acme drill", "耳机", "Bolt saw"], "category": ["Tools", "耳机", "Tools"],
                            "label": [1.0, 1.0, 0.0], "split": ["train", "train", "train"], "cold_start": [False] * 3})
    cls = get("llm_pseudo_query")
    augmenter = cls(cls.Params(per_sample=2, backoff_s=0.01), AugmentContext(products=products, samples=samples, settings=server.settings))
    candidates = augmenter.augment(SAMPLES, SampleRandom(7, "llm_pseudo_query"))
    assert [(c.product_id, c.query, c.label, c.original, c.field) for c in candidates] == [
        ("P9", "Vista lamp cheap", 1.0, "Vista lamp", "query"), ("P9", "best Vista lamp", 1.0, "Vista lamp", "query")]
    assert "Title: Vista lamp\nBrand: Vista\nCategory: Lighting" in server.requests[0]["messages"][0]["content"]


def test_parse_lines_strips_numbering_bullets_and_quotes():
    answer = "Here are queries:\n1. red drill\n2) \"cheap drill\"\n- red drill\n• 电钻\n\nRED DRILL"
    assert parse_lines(answer, exclude="red drill") == ["cheap drill", "电钻"]


def test_a_local_causal_lm_answers_without_an_endpoint(tmp_path):
    import torch
    from transformers import BertTokenizer, GPT2Config, GPT2LMHeadModel

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + "drill saw red blue cheap best 电 钻 \n query write".split(" ")
    (tmp_path / "vocab.txt").write_text("\n".join(w for w in words if w.strip()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(tmp_path / "vocab.txt"))
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=tokenizer.vocab_size, n_embd=16, n_layer=1, n_head=2, n_positions=256,
                               bos_token_id=2, eos_token_id=3, pad_token_id=0)).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    cls = get("llm_paraphrase")
    params = cls.Params(local_model=str(tmp_path), max_tokens=4, per_sample=1, batch_size=2)
    first = cls(params).augment(SAMPLES, SampleRandom(7, "llm_paraphrase"))
    again = cls(params).augment(SAMPLES, SampleRandom(7, "llm_paraphrase"))
    assert [c.query for c in first] == [c.query for c in again] and len(first) == 3
    assert all(c.query and c.params["local_model"] == str(tmp_path) for c in first)
