"""PyTorch snippets to paste, for users of foreign logs (the seed's code, made runnable)."""

LOWER_LR = """\
# Lower the learning rate ten-fold, e.g. 0.01 -> 0.001
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)"""

RAISE_LR = """\
# Raise the learning rate ten-fold: the loss barely moves
for group in optimizer.param_groups:
    group["lr"] *= 10"""

RAISE_LR_UNDERFITTING = """\
# Raise the learning rate two-fold: the model learns too little
for group in optimizer.param_groups:
    group["lr"] *= 2"""

CLIP_GRAD = """\
loss.backward()
torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
optimizer.step()"""

WARMUP = """\
# Warmup over the first 5% of steps, hold, then decay over the last 25% to 0.1x
total = num_epochs * len(train_loader)
warmup, decay = int(0.05 * total), int(0.25 * total)

def lr_factor(step):
    if step < warmup:
        return (step + 1) / warmup
    if step < total - decay:
        return 1.0
    return 1.0 - 0.9 * (step - (total - decay)) / decay

scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
# call scheduler.step() after every optimizer.step()"""

CHECK_DATA = """\
for x, y in train_loader:
    assert torch.isfinite(x).all(), "NaN/Inf in the inputs"
    print(x.abs().max(), x.mean(), x.std())  # huge values? not normalized?
x = (x - mean) / (std + 1e-8)  # normalize, never divide by zero"""

GELU = """\
# ReLU -> GELU
activation = torch.nn.GELU()  # instead of torch.nn.ReLU()"""

ADAMW = """\
optimizer = torch.optim.AdamW(model.parameters(), lr=0.001, weight_decay=0.01)"""

EARLY_STOPPING = """\
best, bad, patience = float("inf"), 0, 5
for epoch in range(num_epochs):
    train_one_epoch()
    val_loss = evaluate()
    if val_loss < best:
        best, bad = val_loss, 0
        torch.save(model.state_dict(), "best.pt")
    else:
        bad += 1
        if bad >= patience:
            break
model.load_state_dict(torch.load("best.pt", weights_only=True))"""

DROPOUT = """\
self.dropout = torch.nn.Dropout(p=0.3)  # 0.3-0.5, between the hidden layers"""

AUGMENT = """\
from torchvision import transforms
train_tf = transforms.Compose([
    transforms.RandomCrop(32, padding=4),
    transforms.RandomHorizontalFlip(),
    transforms.RandomRotation(10),
    transforms.ColorJitter(brightness=0.2),
    transforms.ToTensor(),
])"""

WEIGHT_DECAY = """\
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
# with SGD: torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)"""

MODEL_SIZE = """\
# Change the hidden widths (halve to shrink, double to grow), e.g.
model = torch.nn.Sequential(
    torch.nn.Linear(n_in, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, n_classes),
)"""

AMP = """\
scaler = torch.amp.GradScaler("cuda")
with torch.autocast("cuda", dtype=torch.float16):
    output = model(input)
    loss = criterion(output, target)
scaler.scale(loss).backward()
scaler.step(optimizer)
scaler.update()
optimizer.zero_grad()"""

ACCUMULATION = """\
accumulation_steps = 4  # micro-batch 16 x 4 = effective batch 64; scale lr x4
optimizer.zero_grad()
for i, (data, target) in enumerate(train_loader):
    loss = criterion(model(data), target) / accumulation_steps
    loss.backward()
    if (i + 1) % accumulation_steps == 0:
        optimizer.step()
        optimizer.zero_grad()"""

DATALOADER = """\
train_loader = torch.utils.data.DataLoader(
    dataset, batch_size=64, shuffle=True, num_workers=4, pin_memory=True)"""

CHECK_LOSS = """\
# The loss must be finite, and bounded below where it should be (cross-entropy, MSE >= 0)
loss = criterion(output, target)
assert torch.isfinite(loss), f"loss is {loss.item()}"
assert loss.item() >= 0, f"negative loss {loss.item()}: wrong sign or a degenerate term"

# Log the objective metric next to the loss at every evaluation
writer.add_scalar("Loss/val", val_loss, step)
writer.add_scalar("Metric/val", val_metric, step)  # e.g. accuracy, F1, MAE

# Check the targets: dtype, scale and shape must be what the loss expects
print(target.dtype, target.min().item(), target.max().item(), target.shape, output.shape)
# CrossEntropyLoss: int64 class indices; MSE: float targets on the output's scale

# A learned variance (Gaussian NLL) must not run to zero: keep it bounded below
var = torch.nn.functional.softplus(raw_var) + 1e-6
loss = torch.nn.functional.gaussian_nll_loss(mean, target, var)"""
