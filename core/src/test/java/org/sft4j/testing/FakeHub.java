package org.sft4j.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP server that answers like the Hugging Face Hub: {@code /api/{models|datasets}/REPO/revision/REV}
 * with {@code sha} and {@code siblings}, and {@code /[datasets/]REPO/resolve/SHA/FILE} with a 302 to a
 * CDN path that serves the bytes (the real Hub redirects too).
 */
public final class FakeHub implements AutoCloseable {

    private final HttpServer server;
    private final Map<String, Map<String, byte[]>> repos = new LinkedHashMap<>();
    public final AtomicInteger fileRequests = new AtomicInteger();
    public final AtomicInteger apiRequests = new AtomicInteger();
    public static final String SHA = "0123456789abcdef0123456789abcdef01234567";

    public FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Registers a repo ({@code models/OWNER/NAME} or {@code datasets/OWNER/NAME}) with files copied from a folder. */
    public void addRepo(String typedRepo, Path dir, String... files) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (String f : files) {
            m.put(f, Files.readAllBytes(dir.resolve(f)));
        }
        repos.put(typedRepo, m);
    }

    public void addFile(String typedRepo, String name, byte[] content) {
        repos.computeIfAbsent(typedRepo, k -> new LinkedHashMap<>()).put(name, content);
    }

    private void handle(HttpExchange ex) throws IOException {
        String p = ex.getRequestURI().getPath();
        try {
            if (p.startsWith("/api/")) {
                apiRequests.incrementAndGet();
                String rest = p.substring(5);                       // models/OWNER/NAME/revision/main
                int rev = rest.indexOf("/revision/");
                Map<String, byte[]> files = repos.get(rest.substring(0, rev));
                if (files == null) {
                    send(ex, 404, "{\"error\":\"Repository not found\"}");
                    return;
                }
                StringBuilder sb = new StringBuilder("{\"sha\":\"" + SHA + "\",\"siblings\":[");
                int i = 0;
                for (String f : files.keySet()) {
                    sb.append(i++ > 0 ? "," : "").append("{\"rfilename\":\"").append(f).append("\"}");
                }
                send(ex, 200, sb.append("]}").toString());
            } else if (p.contains("/resolve/")) {
                String repo = p.substring(1, p.indexOf("/resolve/"));
                String typed = repo.startsWith("datasets/") ? repo : "models/" + repo;
                String file = p.substring(p.indexOf("/resolve/") + 9 + SHA.length() + 1);
                ex.getResponseHeaders().add("Location", "/cdn/" + typed + "/" + file);
                ex.sendResponseHeaders(302, -1);
                ex.close();
            } else if (p.startsWith("/cdn/")) {
                fileRequests.incrementAndGet();
                String rest = p.substring(5);
                for (Map.Entry<String, Map<String, byte[]>> r : repos.entrySet()) {
                    if (rest.startsWith(r.getKey() + "/")) {
                        byte[] b = r.getValue().get(rest.substring(r.getKey().length() + 1));
                        if (b != null) {
                            ex.sendResponseHeaders(200, b.length);
                            try (OutputStream o = ex.getResponseBody()) {
                                o.write(b);
                            }
                            return;
                        }
                    }
                }
                send(ex, 404, "not found");
            } else {
                send(ex, 404, "not found");
            }
        } catch (RuntimeException e) {
            send(ex, 500, e.toString());
        }
    }

    private static void send(HttpExchange ex, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
