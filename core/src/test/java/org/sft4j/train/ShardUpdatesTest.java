package org.sft4j.train;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What stops an offloaded update on its thread reaches the training loop as it was thrown, not wrapped. */
class ShardUpdatesTest {

    @Test
    void aFailureOnTheUpdateThreadIsRethrownAsItWasThrown() {
        IllegalStateException cause = new IllegalStateException("host memory exhausted while updating layers.3");
        CompletableFuture<Void> failed = CompletableFuture.runAsync(() -> {
            throw cause;
        });
        assertSame(cause, assertThrows(IllegalStateException.class, () -> ShardUpdates.await(failed)));
        OutOfMemoryError error = new OutOfMemoryError("Java heap space");
        CompletableFuture<Void> died = new CompletableFuture<>();
        died.completeExceptionally(error);
        assertSame(error, assertThrows(OutOfMemoryError.class, () -> ShardUpdates.await(died)));
        Exception checked = new Exception("checked");
        CompletableFuture<Void> other = new CompletableFuture<>();
        other.completeExceptionally(checked);
        assertSame(checked, assertThrows(CompletionException.class, () -> ShardUpdates.await(other)).getCause());
    }
}
