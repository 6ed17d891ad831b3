package org.sft4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sft4j.base.TempFiles;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Downloads repository files from the Hugging Face Hub over its HTTP API into a local cache laid out
 * like {@code huggingface_hub}'s ({@code <cache>/models--OWNER--NAME/snapshots/<sha>/...} plus
 * {@code refs/<revision>}), so files fetched by Python tools are found and vice versa for plain files.
 *
 * <p>Settings as in {@code huggingface_hub}: {@code HF_ENDPOINT}, {@code HF_TOKEN}, {@code HF_HUB_CACHE}
 * or {@code HF_HOME}, {@code HF_HUB_OFFLINE=1}. When the Hub cannot be reached, a snapshot already in
 * the cache is used.
 */
public final class HubClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String endpoint;
    private final String token;
    private final Path cache;
    private final boolean offline;
    private final HttpClient http;

    public HubClient(String endpoint, String token, Path cache, boolean offline) {
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.token = token;
        this.cache = cache;
        this.offline = offline;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A client configured from the environment, as {@code huggingface_hub} is. */
    public static HubClient fromEnvironment() {
        String home = System.getenv().getOrDefault("HF_HOME",
                Path.of(System.getProperty("user.home"), ".cache", "huggingface").toString());
        String cache = System.getenv().getOrDefault("HF_HUB_CACHE", Path.of(home, "hub").toString());
        String off = System.getenv().getOrDefault("HF_HUB_OFFLINE", "0");
        return new HubClient(System.getenv().getOrDefault("HF_ENDPOINT", "https://huggingface.co"),
                System.getenv("HF_TOKEN"), Path.of(cache), off.equals("1") || off.equalsIgnoreCase("true"));
    }

    public Path cache() {
        return cache;
    }

    /**
     * Makes the files of {@code uri} that pass {@code filter} available locally and returns the snapshot
     * folder (or the single file when the URI names one).
     */
    public Path download(HubUri uri, Predicate<String> filter) throws IOException {
        Path repoDir = cache.resolve(uri.cacheFolder());
        Path ref = repoDir.resolve("refs").resolve(uri.revision());
        String sha;
        List<String> files;
        if (offline) {
            return cachedSnapshot(uri, ref, "HF_HUB_OFFLINE is set");
        }
        JsonNode info;
        try {
            info = getJson(endpoint + "/api/" + uri.type().api + "/" + uri.repoId() + "/revision/"
                    + URLEncoder.encode(uri.revision(), StandardCharsets.UTF_8), uri);
        } catch (ConnectException | HttpTimeoutException e) {
            return cachedSnapshot(uri, ref, "the Hub at " + endpoint + " cannot be reached ("
                    + (e instanceof ConnectException ? "no connection" : "timed out") + ")");
        }
        sha = info.path("sha").asText(uri.revision());
        files = new ArrayList<>();
        for (JsonNode s : info.path("siblings")) {
            String f = s.path("rfilename").asText();
            if (inPath(uri, f) && filter.test(f)) {
                files.add(f);
            }
        }
        if (files.isEmpty()) {
            throw new IOException("hub " + uri.type().api + " repo " + uri.repoId() + "@" + uri.revision()
                    + " has no file matching '" + uri.path() + "'");
        }
        Path snapshot = repoDir.resolve("snapshots").resolve(sha);
        for (String f : files) {
            Path target = snapshot.resolve(f);
            if (Files.exists(target)) {
                continue;
            }
            Files.createDirectories(target.getParent());
            fetchFile(endpoint + "/" + uri.type().resolvePrefix + uri.repoId() + "/resolve/" + sha + "/" + f,
                    target, uri);
        }
        Files.createDirectories(ref.getParent());
        TempFiles.write(ref, tmp -> Files.writeString(tmp, sha));
        return resultPath(snapshot, uri);
    }

    private static boolean inPath(HubUri uri, String file) {
        return uri.path().isEmpty() || file.equals(uri.path()) || file.startsWith(uri.path() + "/");
    }

    private static Path resultPath(Path snapshot, HubUri uri) {
        return uri.path().isEmpty() ? snapshot : snapshot.resolve(uri.path());
    }

    private Path cachedSnapshot(HubUri uri, Path ref, String why) throws IOException {
        if (Files.exists(ref)) {
            Path snap = ref.getParent().getParent().resolve("snapshots").resolve(Files.readString(ref).trim());
            Path p = resultPath(snap, uri);
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new IOException(why + ", and " + uri.repoId() + "@" + uri.revision() + " is not in the cache " + cache);
    }

    private JsonNode getJson(String url, HubUri uri) throws IOException {
        HttpResponse<String> r = send(request(url), HttpResponse.BodyHandlers.ofString(), uri, url);
        return JSON.readTree(r.body());
    }

    private void fetchFile(String url, Path target, HubUri uri) throws IOException {
        HttpResponse<InputStream> r = send(request(url), HttpResponse.BodyHandlers.ofInputStream(), uri, url);
        Path tmp = target.resolveSibling(target.getFileName() + ".incomplete");
        try (InputStream in = r.body()) {
            long n = Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            String len = r.headers().firstValue("content-length").orElse(null);
            if (len != null && Long.parseLong(len) != n) {
                throw new IOException(url + ": received " + n + " of " + len + " bytes");
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private HttpRequest request(String url) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(30))
                .header("User-Agent", "sft4j");
        if (token != null && !token.isBlank()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b.GET().build();
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler, HubUri uri, String url)
            throws IOException {
        HttpResponse<T> r;
        try {
            r = http.send(req, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while downloading " + url, e);
        }
        int code = r.statusCode();
        if (code == 401 || code == 403) {
            throw new IOException(uri.repoId() + ": access denied (HTTP " + code + "); gated or private repos need HF_TOKEN");
        }
        if (code == 404) {
            throw new IOException(uri.type().api + " repo " + uri.repoId() + "@" + uri.revision()
                    + " or its file was not found on " + endpoint + " (HTTP 404: " + url + ")");
        }
        if (code >= 400) {
            throw new IOException(url + ": HTTP " + code);
        }
        return r;
    }
}
