# The chaos plugin's latency proxy (runs in the helper, in the target's
# network namespace). argv: DELAY_S JITTER_S MARK LISTEN:UPSTREAM...
# Data the target sends back is held DELAY +- JITTER seconds, in order;
# iptables REDIRECTs the target's port here. The proxy connects to the
# service from the client's own address (IP_TRANSPARENT), with the firewall
# mark MARK, so pg_hba and allow-lists see the client; the rules net.rs adds
# route the service's answers back here.
import collections, random, socket, sys, threading, time

delay, jitter = float(sys.argv[1]), float(sys.argv[2])
mark = int(sys.argv[3], 0)
IP_TRANSPARENT, SO_MARK = 19, 36


def upstream_of(client, host, port):
    # From the client's address; from the target's own if the kernel refuses
    # (said once in the helper's log).
    peer = client.getpeername()[0]
    up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        up.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        up.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
        up.bind((peer, 0))
        up.settimeout(5)
        up.connect((host, port))
        return up
    except OSError as e:
        up.close()
        print("transparent connect from %s failed (%s); connecting from the target's address" % (peer, e), flush=True)
    return socket.create_connection((host, port), timeout=5)


def close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        close(src, dst)


def delayed_pipe(src, dst):
    # A reader stamps each chunk with its due time as it arrives; a writer
    # sends it then. Chunks keep their order, and a chunk waiting never holds
    # back the reading of the next one (each is late by the delay, not more).
    chunks = collections.deque()
    ready = threading.Condition()

    def read():
        last = 0.0
        try:
            while True:
                data = src.recv(65536)
                due = max(time.monotonic() + max(0.0, delay + random.uniform(-jitter, jitter)), last)
                last = due
                with ready:
                    chunks.append((due, data))
                    ready.notify()
                if not data:
                    return
        except OSError:
            with ready:
                chunks.append((0.0, b""))
                ready.notify()

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            with ready:
                while not chunks:
                    ready.wait()
                due, data = chunks.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        close(src, dst)


def serve(listen, upstream):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", listen))
    server.listen(128)
    while True:
        client, _ = server.accept()
        # After REDIRECT the local address is the target's own: the service
        # listens there (or on every address).
        host = client.getsockname()[0]
        try:
            up = upstream_of(client, host, upstream)
        except OSError:
            try:
                up = socket.create_connection(("127.0.0.1", upstream), timeout=5)
            except OSError:
                client.close()
                continue
        up.settimeout(None)
        threading.Thread(target=pipe, args=(client, up), daemon=True).start()
        threading.Thread(target=delayed_pipe, args=(up, client), daemon=True).start()


for pair in sys.argv[4:]:
    listen, upstream = (int(p) for p in pair.split(":"))
    threading.Thread(target=serve, args=(listen, upstream), daemon=True).start()
print("proxy ready", flush=True)
while True:
    time.sleep(3600)
