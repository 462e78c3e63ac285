"""The peer for the GPU benchmark: PyTorch's DCGAN tutorial training loop, written out literally.

The tutorial (pytorch.org, "DCGAN Tutorial") trains a 64x64 DCGAN with ``ngf = ndf = 64``,
``nz = 100``, ``nn.BCELoss`` on a sigmoid output, Adam lr 2e-4, betas (0.5, 0.999), and logs
``.item()`` of the losses and mean outputs at every iteration. Here the same loop runs at 32x32
(one up/down-sampling block fewer) or 64x64, on a tensor of images already on the device (its
``DataLoader`` is replaced by slicing, so the data pipeline costs the peer nothing). Nothing here
is from ganedu: the benchmark times ganedu's Trainer against this loop in the same process.
What we leave out: the tutorial's ``torch.use_deterministic_algorithms(True)``, which would
slow down both sides of the comparison (it is a process-wide switch).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def weights_init(m):
    """The tutorial's initialisation: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), bias 0."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=1, image_size=64):
        super().__init__()
        n = int(math.log2(image_size)) - 3  # 3 at 64x64: 8*ngf -> 4*ngf -> 2*ngf -> ngf
        layers = [nn.ConvTranspose2d(nz, ngf * 2**n, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 2**n), nn.ReLU(True)]
        for i in range(n, 0, -1):
            layers += [nn.ConvTranspose2d(ngf * 2**i, ngf * 2**(i - 1), 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ngf * 2**(i - 1)), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, nc=1, ndf=64, image_size=64):
        super().__init__()
        n = int(math.log2(image_size)) - 3
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for i in range(n):
            layers += [nn.Conv2d(ndf * 2**i, ndf * 2**(i + 1), 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ndf * 2**(i + 1)), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(ndf * 2**n, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        return self.main(input)


class TutorialLoop:
    """One ``step()`` is one iteration of the tutorial's inner loop (one batch)."""

    def __init__(self, images: torch.Tensor, batch_size=128, nz=100, ngf=64, ndf=64, lr=0.0002, beta1=0.5,
                 seed=999):
        torch.manual_seed(seed)
        device = images.device
        nc, image_size = images.shape[1], images.shape[-1]
        self.images, self.batch_size, self.nz, self.device = images, batch_size, nz, device
        self.netG = Generator(nz, ngf, nc, image_size).to(device)
        self.netG.apply(weights_init)
        self.netD = Discriminator(nc, ndf, image_size).to(device)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.real_label, self.fake_label = 1.0, 0.0
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=(beta1, 0.999))
        self.G_losses, self.D_losses, self.i = [], [], 0

    def next_data(self):
        n = len(self.images) // self.batch_size
        start = (self.i % n) * self.batch_size
        self.i += 1
        return self.images[start:start + self.batch_size]

    def step(self):
        netD, netG, criterion, device = self.netD, self.netG, self.criterion, self.device
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = self.next_data().to(device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), self.real_label, dtype=torch.float, device=device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.randn(b_size, self.nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(self.fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(self.real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        self.G_losses.append(errG.item())
        self.D_losses.append(errD.item())
        return D_x, D_G_z1, D_G_z2
