# plot_attention_grid, correct but written differently from the solution: scores full marks.
def plot_attention_grid(patterns, labels=None):
    patterns = patterns.cpu().numpy()
    n_layers, n_heads = patterns.shape[:2]
    fig = plt.figure(figsize=(3 * n_heads, 3 * n_layers))
    for index in range(n_layers * n_heads):
        layer, head = divmod(index, n_heads)
        ax = fig.add_subplot(n_layers, n_heads, index + 1)
        image = ax.matshow(patterns[layer, head], cmap="viridis")
        image.set_clim(0, 1)
        ax.set_title("L%dH%d" % (layer, head))
        if labels:
            ax.set_xticks(list(range(len(labels))))
            ax.set_xticklabels(labels)
            ax.set_yticks(list(range(len(labels))))
            ax.set_yticklabels(labels)
    return fig
