package org.sft4j.hub;

import org.sft4j.base.UserError;

/**
 * A reference to something on the Hugging Face Hub: {@code hf://OWNER/MODEL},
 * {@code hf://datasets/OWNER/NAME[/path/in/repo]}, fairseq2's {@code hg://OWNER/NAME} (a dataset), with an
 * optional {@code @revision} after the repo name.
 *
 * @param type model or dataset repository
 * @param repoId {@code OWNER/NAME}
 * @param revision branch, tag or commit ({@code main} by default)
 * @param path a file or folder inside the repository, or empty for all of it
 */
public record HubUri(RepoType type, String repoId, String revision, String path) {

    public enum RepoType {
        MODEL("models", ""), DATASET("datasets", "datasets/");

        final String api;
        final String resolvePrefix;

        RepoType(String api, String resolvePrefix) {
            this.api = api;
            this.resolvePrefix = resolvePrefix;
        }
    }

    /** True for the schemes this class parses. */
    public static boolean isHub(String s) {
        return s != null && (s.startsWith("hf://") || s.startsWith("hg://"));
    }

    public static HubUri parse(String s) {
        if (!isHub(s)) {
            throw new UserError("not a hub URI (hf://... or hg://...): " + s);
        }
        boolean fairseq = s.startsWith("hg://");
        String rest = s.substring(5);
        RepoType type = fairseq ? RepoType.DATASET : RepoType.MODEL;
        if (rest.startsWith("datasets/")) {
            type = RepoType.DATASET;
            rest = rest.substring("datasets/".length());
        } else if (rest.startsWith("models/")) {
            rest = rest.substring("models/".length());
        }
        String[] parts = rest.split("/", 3);
        if (parts.length < 2 || parts[0].isBlank() || parts[1].isBlank()) {
            throw new UserError("hub URI '" + s + "' must name OWNER/NAME, e.g. hf://datasets/OWNER/NAME");
        }
        String name = parts[1];
        String revision = "main";
        int at = name.indexOf('@');
        if (at >= 0) {
            revision = name.substring(at + 1);
            name = name.substring(0, at);
        }
        return new HubUri(type, parts[0] + "/" + name, revision, parts.length == 3 ? parts[2] : "");
    }

    /** The cache folder name transformers uses: {@code models--OWNER--NAME}. */
    public String cacheFolder() {
        return type.api + "--" + repoId.replace("/", "--");
    }
}
