package org.sft4j.read;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads a text file (optionally .gz) as lines the way Python's text mode does: UTF-8, universal
 * newlines, no trailing empty line. Invalid UTF-8 is an error naming the file and byte offset.
 */
public final class TextLines {

    private TextLines() {}

    public static List<String> read(Path file) throws IOException {
        byte[] bytes;
        try (InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(file))
                : Files.newInputStream(file)) {
            bytes = in.readAllBytes();
        }
        String text = decode(bytes, file.toString());
        text = text.replace("\r\n", "\n").replace('\r', '\n');
        if (text.isEmpty()) {
            return new ArrayList<>();
        }
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
        if (lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }

    /** Strict UTF-8 decoding; the error gives the byte offset of the first invalid sequence. */
    public static String decode(byte[] bytes, String where) throws IOException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(where + ": invalid UTF-8 at byte offset " + firstInvalid(bytes), e);
        }
    }

    /** Byte offset of the first byte that does not start a well-formed UTF-8 sequence, or b.length. */
    public static long firstInvalid(byte[] b) {
        int i = 0;
        while (i < b.length) {
            int c = b[i] & 0xff;
            int extra;
            if (c < 0x80) {
                extra = 0;
            } else if (c >= 0xc2 && c <= 0xdf) {
                extra = 1;
            } else if (c >= 0xe0 && c <= 0xef) {
                extra = 2;
            } else if (c >= 0xf0 && c <= 0xf4) {
                extra = 3;
            } else {
                return i;
            }
            for (int k = 1; k <= extra; k++) {
                if (i + k >= b.length || (b[i + k] & 0xc0) != 0x80) {
                    return i;
                }
            }
            i += extra + 1;
        }
        return b.length;
    }
}
