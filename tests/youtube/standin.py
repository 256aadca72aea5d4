#!/usr/bin/env python3
"""A local stand-in for the YouTube Data API v3 and Google's OAuth 2.0 token
endpoint, for StreamFlow's tests. It listens on 127.0.0.1 only, on a free
port written to --port-file, and stops by itself after --lifetime seconds.

  standin.py --port-file F --key KEY [--pubkey PEM --client-email E]
             [--token-life S] [--generation N] [--lifetime S]

API (base http://127.0.0.1:PORT/youtube/v3):
  GET /videos?part=snippet,statistics&id=ID
  GET /commentThreads?part=snippet&videoId=ID&maxResults=100[&pageToken=T]
authorised by key=KEY, or by "Authorization: Bearer T" with a token issued by
  POST /token  (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer,
                assertion=JWT signed RS256 by the key matching --pubkey;
                ECHO_EMAIL and SHORT_TOKEN_EMAIL misbehave on purpose)
  GET /_stats  request counts per call and video, tokens issued, and the
               final state of the "live" videos
videos.list takes up to 5 comma-separated IDs. A "live" video changes: each
request for its first comment page starts a new round r (capped at
--live-rounds), in which every comment's like count grows, a new comment
appears and the video's like count and title change (videos.list shows the
round last started). --quota-fail K answers quotaExceeded to the first K
API calls.
The videos and their behaviours are in CATALOG below; each video's
behaviour depends on how many times it has been asked for, so a fresh
server replays the same story.
"""
import argparse
import base64
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def comments(prefix, likes):
    return [("%s-c%03d" % (prefix, i), n) for i, n in enumerate(likes)]


# id -> behaviour. "comments": list of (comment_id, likeCount as sent);
# "ct": per-attempt list of special answers for commentThreads page 1
# (after the list runs out the normal answer is given); "videos_status":
# a fixed error for videos.list.
CATALOG = {
    "pagedVideo1": {"title": "Café ☕ déjà vu 🎉", "likes": "1234",
                    "comments": comments("pv1", [i % 7 for i in range(250)])},
    "sameTitle01": {"title": "Same title", "likes": "5",
                    "comments": comments("st1", [10, 20, 30])},
    "sameTitle02": {"title": "Same title", "likes": "6",
                    "comments": comments("st2", [25, 35])},
    "emojiTitle1": {"title": "日本語のタイトル 🎌", "likes": "1",
                    "comments": comments("emj", [2, 2])},
    "noComments1": {"title": "Comments off", "likes": "3",
                    "ct": ["commentsDisabled"] * 99},
    "privateVid1": {"private": True},
    "missingVid1": {"title": "Gone", "likes": "0", "ct": ["notFound"] * 99},
    "forbidden01": {"title": "Forbidden", "likes": "0", "ct": ["forbidden"] * 99},
    "flaky503001": {"title": "Flaky", "likes": "9", "comments": comments("flk", [1, 2]),
                    "ct": ["503", "429", "rateLimitExceeded"]},
    "alwaysDown1": {"title": "Always down", "likes": "1", "ct": ["500"] * 99},
    "slowVideo01": {"title": "Slow once", "likes": "1", "comments": comments("slw", [8]),
                    "ct": ["slow"]},
    "slowForever": {"title": "Slow forever", "likes": "1", "ct": ["slow"] * 99},
    "truncated01": {"title": "Truncated once", "likes": "1", "comments": comments("trc", [4, 6]),
                    "ct": ["truncated", "short"]},
    "badTypes001": {"title": "Bad types", "likes": "many",
                    "raw_items": [
                        ("bt-ok1", 5), ("bt-ok2", "6"), ("bt-bad1", "lots"), ("bt-bad2", -3),
                        ("bt-bad3", 1e30), ("bt-bad4", "HUGE"), ("bt-bad5", {}), (None, 4),
                        ("bt-ok3", 7)]},
    "wrongTypes1": {"title": "Wrong types", "likes": "1", "ct": ["wrongtypes"] * 99},
    "quotaBoom01": {"title": "Quota", "likes": "1", "ct": ["quotaExceeded"] * 99},
    "manyPages01": {"title": "Many slow pages", "likes": "2",
                    "comments": comments("mp", [1] * 16), "page_size": 2, "delay": 0.4},
    "longError01": {"title": "Long error", "likes": "1", "ct": ["longError"] * 99},
    "stallVideo1": {"title": "Stalls", "likes": "1", "comments": comments("stl", [1]), "delay": 20},
    "liveVideo01": {"title": "Live one", "likes": 100, "live": [5, 3, 0, 8, 1], "page_size": 2},
    "liveVideo02": {"title": "Live two", "likes": 7, "live": [1, 1]},
}


def live_state(vid, v, r):
    """Title, video like count and comments of a live video in round r."""
    cs = [("%s-c%03d" % (vid, i), n + (r - 1) * (i % 3)) for i, n in enumerate(v["live"])]
    cs += [("%s-n%03d" % (vid, k), k) for k in range(1, r)]
    title = v["title"] + (" (edited)" if r > 1 else "")
    return title, str(v["likes"] + 10 * (r - 1)), cs

# Service accounts whose token requests go wrong on purpose (any valid
# signature): the refusal quotes the whole assertion after 300 bytes, or the
# token issued is absurdly short.
ECHO_EMAIL = "echo@standin.iam.gserviceaccount.com"
SHORT_TOKEN_EMAIL = "short-token@standin.iam.gserviceaccount.com"

ERRORS = {
    "commentsDisabled": (403, "commentsDisabled", "youtube.commentThread",
                         "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">videoId</a></code> parameter has disabled comments."),
    "notFound": (404, "videoNotFound", "youtube.commentThread",
                 "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">videoId</a></code> parameter could not be found."),
    "forbidden": (403, "forbidden", "youtube.commentThread",
                  "The request is not properly authorized to retrieve the specified comment threads."),
    "rateLimitExceeded": (403, "rateLimitExceeded", "youtube.quota",
                          "The request cannot be completed because you have exceeded your rate limit."),
    "quotaExceeded": (403, "quotaExceeded", "youtube.quota",
                      "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>."),
}


def error_body(code, reason, domain, message):
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": domain, "reason": reason}]}}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.counts = {}
        self.tokens = {}  # token -> (expiry, revoked)
        self.issued = 0
        self.pubkey = None
        if args.pubkey:
            with open(args.pubkey, "rb") as f:
                self.pubkey = serialization.load_pem_public_key(f.read())

    def bump(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1
            return self.counts[name]


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"

    def log_message(self, fmt, *a):  # quiet; secrets would be in the URL
        pass

    @property
    def st(self):
        return self.server.state

    def send_json(self, code, obj, raw=None, declared_len=None):
        body = raw if raw is not None else json.dumps(obj, ensure_ascii=False).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(declared_len if declared_len else len(body)))
            if declared_len:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def api_error(self, name):
        code, reason, domain, msg = ERRORS[name]
        self.send_json(code, error_body(code, reason, domain, msg))

    # ---------------------------------------------------------------- token
    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode(errors="replace"))
        if url.path != "/token":
            return self.send_json(404, {"error": "not_found"})
        self.st.bump("token")
        grant = form.get("grant_type", [""])[0]
        assertion = form.get("assertion", [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self.send_json(400, {"error": "unsupported_grant_type",
                                        "error_description": "Invalid grant_type: " + grant})
        try:
            h64, c64, s64 = assertion.split(".")
            header = json.loads(b64url_decode(h64))
            claims = json.loads(b64url_decode(c64))
            sig = b64url_decode(s64)
        except Exception:
            return self.send_json(400, {"error": "invalid_grant", "error_description": "Invalid JWT."})
        if header.get("alg") != "RS256":
            return self.send_json(400, {"error": "invalid_grant", "error_description": "Invalid JWT: alg"})
        try:
            self.st.pubkey.verify(sig, (h64 + "." + c64).encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, AttributeError):
            return self.send_json(400, {"error": "invalid_grant",
                                        "error_description": "Invalid JWT Signature."})
        if claims.get("iss") == ECHO_EMAIL:
            return self.send_json(400, {"error": "invalid_grant",
                                        "error_description": "Invalid JWT " + "x" * 300 +
                                        " assertion was " + assertion})
        now = time.time()
        me = "http://127.0.0.1:%d/token" % self.server.server_address[1]
        problems = []
        if claims.get("aud") != me:
            problems.append("aud")
        if claims.get("iss") not in (self.st.args.client_email, "revoked@standin.iam.gserviceaccount.com",
                                     SHORT_TOKEN_EMAIL):
            problems.append("iss")
        if "https://www.googleapis.com/auth/youtube.readonly" not in str(claims.get("scope", "")).split():
            problems.append("scope")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or abs(iat - now) > 300 \
                or exp <= iat or exp - iat > 3600:
            problems.append("iat/exp")
        if problems:
            return self.send_json(400, {"error": "invalid_grant",
                                        "error_description": "Invalid JWT claims: " + ",".join(problems)})
        token = "ya29.standin-" + secrets.token_urlsafe(24)
        if claims.get("iss") == SHORT_TOKEN_EMAIL:
            token = "t"
        life = self.st.args.token_life
        with self.st.lock:
            self.st.tokens[token] = (now + life, claims.get("iss").startswith("revoked@"))
            self.st.issued += 1
        self.send_json(200, {"access_token": token, "expires_in": life, "token_type": "Bearer"})

    # ---------------------------------------------------------------- API
    def authorised(self, q):
        key = q.get("key", [None])[0]
        auth = self.headers.get("Authorization", "")
        if key is not None:
            if key == self.st.args.key:
                return True
            msg = "API key not valid. Please pass a valid API key."
            self.send_json(400, {"error": {
                "code": 400, "message": msg,
                "errors": [{"message": msg, "domain": "global", "reason": "badRequest"}],
                "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}})
            return False
        if auth.startswith("Bearer "):
            with self.st.lock:
                exp, revoked = self.st.tokens.get(auth[7:], (0, False))
            if exp > time.time() and not revoked:
                return True
        msg = ("Request is missing required authentication credential." if not auth else
               "Request had invalid authentication credentials. Expected OAuth 2 access token, "
               "login cookie or other valid authentication credential.")
        self.send_json(401, {"error": {"code": 401, "message": msg, "errors": [
            {"message": msg, "domain": "global", "reason": "authError",
             "location": "Authorization", "locationType": "header"}], "status": "UNAUTHENTICATED"}})
        return False

    def round(self, vid, advance):
        """The live video's current round; a first-page request starts the next one."""
        if advance:
            r = self.st.bump("round:" + vid)
        else:
            with self.st.lock:
                r = self.st.counts.get("round:" + vid, 1)
        return max(1, min(r, self.st.args.live_rounds))

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/_stats":
            final = {}
            for vid, v in CATALOG.items():
                if "live" in v:
                    t, vl, cs = live_state(vid, v, self.st.args.live_rounds)
                    final[vid] = {"title": t, "video_likes": int(vl), "comments": len(cs),
                                  "likes": sum(n for _, n in cs)}
            with self.st.lock:
                return self.send_json(200, {"counts": self.st.counts, "tokens": self.st.issued,
                                            "live": final})
        if url.path not in ("/youtube/v3/videos", "/youtube/v3/commentThreads"):
            return self.send_json(404, {"error": {"code": 404, "message": "Not Found"}})
        call = url.path.rsplit("/", 1)[1]
        vid = q.get("id" if call == "videos" else "videoId", [""])[0]
        n = self.st.bump("%s:%s" % (call, vid))
        napi = self.st.bump("api")
        v = CATALOG.get(vid)
        if v and "delay" in v and call == "commentThreads":
            # Slow pages: the token must still be valid when the answer is
            # made, as for a request that is in flight when it expires.
            time.sleep(v["delay"])
        if not self.authorised(q):
            return
        if napi <= self.st.args.quota_fail:
            return self.api_error("quotaExceeded")
        if call == "videos":
            items = []
            for one in vid.split(",")[:5]:
                w = CATALOG.get(one)
                if w is None or w.get("private"):
                    continue
                title, likes = w["title"], w["likes"]
                if "live" in w:
                    title, likes, _ = live_state(one, w, self.round(one, False))
                items.append({"kind": "youtube#video", "id": one,
                              "snippet": {"title": title, "channelTitle": "standin"},
                              "statistics": {"viewCount": "100", "likeCount": likes, "commentCount": "0"}})
            return self.send_json(200, {"kind": "youtube#videoListResponse", "items": items,
                                        "pageInfo": {"totalResults": len(items), "resultsPerPage": 5}})
        if v is None or v.get("private"):
            return self.api_error("notFound")
        token = q.get("pageToken", [""])[0]
        if q.get("maxResults", [""])[0] != "100" or q.get("part", [""])[0] != "snippet":
            return self.send_json(400, error_body(400, "invalidParameter", "youtube.parameter",
                                                  "expected part=snippet&maxResults=100"))
        special = v.get("ct", [])
        if not token and n <= len(special):
            s = special[n - 1]
            if s in ERRORS:
                return self.api_error(s)
            if s == "longError":
                # About 250 bytes, the key in the middle: with the prefix
                # the client adds, the reason it keeps is cut at 255.
                msg = ("The request for this video was refused by a policy whose long explanation "
                       "quotes the key it was given, " + self.st.args.key + ", and goes on")
                msg += "." * (250 - len(msg))
                return self.send_json(403, error_body(403, "forbidden", "youtube.commentThread", msg))
            if s in ("500", "503", "429"):
                return self.send_json(int(s), {"error": {"code": int(s), "message": "Backend Error",
                                                         "errors": [{"reason": "backendError"}]}})
            if s == "slow":
                time.sleep(3)
            elif s == "truncated":
                return self.send_json(200, None, raw=b'{"kind":"youtube#commentThreadListResponse","items":[{"id":"trc-c0')
            elif s == "short":
                return self.send_json(200, None, raw=b'{"items":[', declared_len=4096)
            elif s == "wrongtypes":
                return self.send_json(200, {"items": {"id": "x"}, "nextPageToken": 12})
        if "raw_items" in v:
            items = []
            for cid, likes in v["raw_items"]:
                it = {"kind": "youtube#commentThread",
                      "snippet": {"videoId": vid, "topLevelComment": {"snippet": {"likeCount": likes}}}}
                if cid:
                    it["id"] = cid
                items.append(it)
            body = json.dumps({"items": items}).replace('"HUGE"', "99999999999999999999999")
            return self.send_json(200, None, raw=body.encode())
        size = v.get("page_size", 100)
        start = int(token[1:]) if token.startswith("p") and token[1:].isdigit() else 0
        allc = v.get("comments")
        if "live" in v:
            allc = live_state(vid, v, self.round(vid, not token))[2]
        if q.get("order", [""])[0] == "time":
            allc = list(reversed(allc))  # the newest (last added) first
        page = allc[start:start + size]
        gen = self.st.args.generation
        items = [{"kind": "youtube#commentThread", "id": cid,
                  "snippet": {"videoId": vid, "topLevelComment": {
                      "id": cid, "snippet": {"likeCount": likes + (5 if gen > 1 and i == 0 and start == 0 else 0),
                                             "textDisplay": "comment %s" % cid}},
                              "totalReplyCount": 0}}
                 for i, (cid, likes) in enumerate(page)]
        body = {"kind": "youtube#commentThreadListResponse", "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": size}}
        if start + size < len(allc):
            body["nextPageToken"] = "p%d" % (start + size)
        self.send_json(200, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--key", default="")
    ap.add_argument("--pubkey")
    ap.add_argument("--client-email", default="streamflow-test@standin.iam.gserviceaccount.com")
    ap.add_argument("--token-life", type=int, default=3600)
    ap.add_argument("--generation", type=int, default=1)
    ap.add_argument("--lifetime", type=float, default=180)
    ap.add_argument("--live-rounds", type=int, default=3)
    ap.add_argument("--quota-fail", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
