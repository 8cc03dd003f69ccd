# A mistake: plot_attention_grid with a colour scale per panel. Its visible test, test_plot_attention_grid, fails and says what is wrong.
def plot_attention_grid(patterns, labels=None):
    n_layers, n_heads, seq, _ = patterns.shape
    fig, axes = plt.subplots(n_layers, n_heads, squeeze=False)
    for layer in range(n_layers):
        for head in range(n_heads):
            axes[layer, head].imshow(patterns[layer, head].cpu())
            axes[layer, head].set_title(f"L{layer}H{head}")
            if labels is not None:
                axes[layer, head].set_xticks(range(seq), labels)
                axes[layer, head].set_yticks(range(seq), labels)
    return fig
